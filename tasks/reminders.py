"""Reminder tasks (thin: the work lives in crm.services.reminders)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="tasks.reminders.sweep", soft_time_limit=50, time_limit=58)
def sweep() -> None:
    """Placeholder until the reminders issue lands."""
