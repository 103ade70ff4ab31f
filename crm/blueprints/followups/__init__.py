"""My follow-ups."""

from .views import bp

__all__ = ["bp"]
