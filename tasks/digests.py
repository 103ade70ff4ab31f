"""Digest tasks (thin: the work lives in crm.services.digests)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from celery import shared_task
from flask import current_app

from crm.commands.digests import run_sweep
from crm.services import deliveries, digests, engagement


@deliveries.renderer("digest", with_settings=True)
def render_digest(rows: list, settings: Mapping[str, Any]):
    """The service's renderer, with the health thresholds from the app config."""
    thresholds = engagement.Thresholds.from_config(current_app.config)
    return digests.render(rows, {**settings, "thresholds": thresholds})


@shared_task(name="tasks.digests.sweep", soft_time_limit=300, time_limit=360,
             ignore_result=True)
def sweep() -> dict[str, int]:
    """Every 15 minutes (beat): ledger the digests whose period ended, commit, enqueue."""
    return run_sweep(current_app._get_current_object())
