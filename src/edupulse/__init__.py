"""edupulse: real-time learning analytics on one Kappa stream."""

from edupulse.errors import EdupulseError

__all__ = ["EdupulseError", "__version__"]
__version__ = "0.1.0"
