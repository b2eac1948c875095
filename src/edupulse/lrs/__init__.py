"""xAPI resources: statements (state, profiles and about follow with full LRS conformance)."""

from edupulse.lrs.statements import IngestReport, StatementIngest

__all__ = ["IngestReport", "StatementIngest"]
