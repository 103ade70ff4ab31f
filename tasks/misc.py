"""Small operational tasks."""

from __future__ import annotations

from celery import shared_task

from crm.extensions import db
from crm.models import SiteSetting


@shared_task(name="tasks.misc.ping", soft_time_limit=10, time_limit=20)
def ping(token: str) -> str:
    """Round-trip check: writes `ping:<token>` to the database, where the caller looks
    (committed by the task's unit of work, crm/celery_app.py)."""
    db.session.merge(SiteSetting(key=f"ping:{token}"[:64], value={"pong": True}))
    return "pong"
