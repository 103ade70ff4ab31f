"""Reminder tasks (thin: the work lives in crm.services.reminders)."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from crm.commands.reminders import parse_at, run_sweep


@shared_task(name="tasks.reminders.sweep", soft_time_limit=50, time_limit=58,
             ignore_result=True)
def sweep(at: str | None = None) -> dict:
    """The beat sweep, every minute: ledger first, then one send task per email."""
    return run_sweep(current_app._get_current_object(), parse_at(at))
