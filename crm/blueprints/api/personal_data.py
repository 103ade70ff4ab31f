"""/api/v1/contacts/<id>/personal-data and /api/v1/contacts/<id>/erase (admins)."""

from __future__ import annotations

from . import bp  # noqa: F401
