"""Who may see what: callers (source keys, people with tokens), their scope, and the audit of reads."""

from edupulse.access.caller import Caller
from edupulse.access.tokens import TokenClaims, TokenVerifier

__all__ = ["Caller", "TokenClaims", "TokenVerifier"]
