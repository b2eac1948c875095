"""Protecting students' data: credentials and access control (pseudonyms, vault and erasure follow)."""
