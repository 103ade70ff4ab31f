"""Agreements: the agreement page and its forms (views), and the Code members view
(code_members, a separate module in the same blueprint)."""

from . import code_members  # noqa: F401  (its routes join the agreements blueprint)
from .views import bp

__all__ = ["bp"]
