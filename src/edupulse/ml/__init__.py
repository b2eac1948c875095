"""Models trained from history and evaluated offline: knowledge tracing (BKT, Elo).

Modules that the stream operators import (``bkt``, ``elo``, ``mastery_model``) stay
free of numpy; fitting and evaluation (``bkt_fit``, ``training``, ``assistments``) use it.
"""

__all__ = ["Attempt"]

Attempt = tuple[str, str, bool]  # (learner, skill, correct), in the learner's attempt order
