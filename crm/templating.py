"""Jinja filters and globals: formatting only, no queries."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_login import current_user

from crm.lib import countries, timeutil
from crm.models import enums


def _user_tz() -> str:
    return getattr(current_user, "timezone", None) or "UTC"


def local_dt(value: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    """A UTC datetime shown in the signed-in user's zone."""
    if value is None:
        return ""
    return timeutil.to_local(value, _user_tz()).strftime(fmt)


def local_date(value: datetime | None) -> str:
    return local_dt(value, "%d %b %Y")


def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        local_dt=local_dt,
        local_date=local_date,
        iso=iso,
        label=enums.label,
        country_name=countries.country_name,
    )
    app.jinja_env.globals.update(enums=enums, SECTOR_LABELS=enums.SECTOR_LABELS)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
