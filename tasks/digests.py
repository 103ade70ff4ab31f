"""Digest tasks (thin: the work lives in crm.services.digests)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from celery import shared_task
from flask import current_app

from crm.celery_app import enqueue
from crm.extensions import db
from crm.services import deliveries, digests, engagement, timeutil


@deliveries.renderer("digest", with_settings=True)
def render_digest(rows: list, settings: Mapping[str, Any]):
    """The service's renderer, with the health thresholds from the app config."""
    thresholds = engagement.Thresholds.from_config(current_app.config)
    return digests.render(rows, {**settings, "thresholds": thresholds})


@shared_task(name="tasks.digests.sweep", soft_time_limit=300, time_limit=360)
def sweep() -> int:
    """Every 15 minutes (beat): ledger the digests whose period ended, commit, enqueue."""
    ids = digests.sweep(timeutil.now_utc())
    db.session.commit()
    for delivery_id in ids:
        enqueue(current_app, "tasks.delivery.send", [delivery_id])
    return len(ids)
