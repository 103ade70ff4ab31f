"""The no-op task the Celery benchmark compares reminder delivery with."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="bench.noop", acks_late=True, ignore_result=True)
def noop(n: int) -> None:
    """Do nothing: its rate is the broker + worker ceiling on this machine."""
