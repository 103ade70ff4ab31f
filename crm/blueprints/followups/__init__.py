"""My follow-ups and follow-up actions."""

from . import email_actions  # noqa: E402,F401,I001  (routes on the same blueprint)
from .views import bp

__all__ = ["bp"]
