"""Importers: files of other systems (OULAD CSV tables...) streamed onto the event log."""
