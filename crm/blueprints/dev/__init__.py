"""Development-only pages: the mail outbox at /dev/outbox."""

from .views import bp

__all__ = ["bp"]
