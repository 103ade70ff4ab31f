"""Log interaction."""

from .views import bp

__all__ = ["bp"]
