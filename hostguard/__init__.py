"""hostguard: due-diligence checks, notice-and-action and hash matching for model hosting platforms."""

__version__ = "0.1.0"
