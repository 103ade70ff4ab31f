"""Reports."""

from . import agreements  # noqa: F401  (its routes join the reports blueprint)
from .views import bp

__all__ = ["bp"]
