"""Retention settings and the contacts offered for erasure (admins)."""

from __future__ import annotations

from . import bp  # noqa: F401
