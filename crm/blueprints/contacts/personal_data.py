"""A contact's personal data on the web: export, erase, redact mentions (admins)."""

from __future__ import annotations

from .views import bp  # noqa: F401
