"""Reminder tasks (thin: the work is crm.jobs.run_reminder_sweep)."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from crm import jobs


@shared_task(name="tasks.reminders.sweep", soft_time_limit=50, time_limit=58,
             ignore_result=True)
def sweep(at: str | None = None) -> dict:
    """The beat sweep, every minute: ledger first, then one send task per email."""
    return jobs.run_reminder_sweep(current_app, jobs.parse_moment(at))
