"""Retention task (thin: the work is crm.services.personal_data.retention.apply)."""

from __future__ import annotations

from celery import shared_task

from crm import jobs
from crm.services.personal_data import retention


@shared_task(name="tasks.retention.apply", soft_time_limit=1800, time_limit=1860,
             ignore_result=True)
def apply(at: str | None = None) -> dict:
    """The nightly run: redact or delete what is past retention; the task's unit of work
    commits it (crm/celery_app.py)."""
    return retention.apply(jobs.parse_moment(at))
