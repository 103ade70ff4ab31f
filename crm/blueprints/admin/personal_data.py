"""A user account's personal data export (admins)."""

from __future__ import annotations

from . import bp  # noqa: F401
