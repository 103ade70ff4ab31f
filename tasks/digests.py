"""Digest tasks (thin: the work is crm.jobs.run_digest_sweep; the email is
crm.services.digests.render, named in crm.services.emails)."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from crm import jobs


@shared_task(name="tasks.digests.sweep", soft_time_limit=300, time_limit=360,
             ignore_result=True)
def sweep() -> dict[str, int]:
    """Every 15 minutes (beat): ledger the digests whose period ended, commit, enqueue."""
    return jobs.run_digest_sweep(current_app)
