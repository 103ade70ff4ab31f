"""Digest tasks (thin: the work lives in crm.services.digests)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="tasks.digests.sweep", soft_time_limit=300, time_limit=360)
def sweep() -> None:
    """Placeholder until the digests issue lands."""
