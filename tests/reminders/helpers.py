"""Shared helpers for the reminder tests."""

from __future__ import annotations

from datetime import datetime

from crm.lib import timeutil
from crm.models import Delivery


def local(tz: str, *args: int) -> datetime:
    """UTC instant of a local wall time in `tz` (year, month, day, hour, minute)."""
    return timeutil.local_to_utc(datetime(*args), tz)


def rows(db, **filters) -> list[Delivery]:
    db.session.expire_all()
    return db.session.query(Delivery).filter_by(**filters).order_by(Delivery.id).all()


def smtp_config(app, monkeypatch, smtp) -> None:
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp.port)
