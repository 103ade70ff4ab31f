"""Contacts."""

from . import personal_data  # noqa: F401  (its routes join the contacts blueprint)
from .views import bp

__all__ = ["bp"]
