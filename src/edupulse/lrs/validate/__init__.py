"""xAPI validation to the letter of the specification (1.0.3 and 2.0.0), on decoded JSON."""

from edupulse.lrs.validate.agents import check_actor
from edupulse.lrs.validate.statement import check_statement
from edupulse.lrs.validate.values import Invalid

__all__ = ["Invalid", "check_actor", "check_statement"]
