"""Digest tasks (thin: the email is crm.services.digests.render, named in crm.services.emails)."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from crm.commands.digests import run_sweep


@shared_task(name="tasks.digests.sweep", soft_time_limit=300, time_limit=360,
             ignore_result=True)
def sweep() -> dict[str, int]:
    """Every 15 minutes (beat): ledger the digests whose period ended, commit, enqueue."""
    return run_sweep(current_app._get_current_object())
