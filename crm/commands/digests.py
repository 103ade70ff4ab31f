"""flask --app crm crm sweep-digests [--at ISO-TIME]

`run_sweep` is also what the beat task `tasks.digests.sweep` runs: it owns the transaction
(service → commit → enqueue). Rows left queued or sending are re-enqueued by the reminders
sweep (`deliveries.requeue_stuck`, every minute, for every kind of ledger row).
"""

from __future__ import annotations

from datetime import datetime

import click
from flask import Flask, current_app

from crm.celery_app import enqueue
from crm.cli import crm_cli
from crm.commands.reminders import SEND_TASK, parse_at
from crm.extensions import db
from crm.services import digests, timeutil


def run_sweep(app: Flask, now: datetime | None = None) -> dict[str, int]:
    """Ledger the digests whose period ended by `now`, commit, then one send task per row."""
    ids = digests.sweep(now or timeutil.now_utc())
    db.session.commit()  # the ledger holds the work before the broker hears of it
    accepted = sum(enqueue(app, SEND_TASK, [delivery_id]) for delivery_id in ids)
    return {"ledgered": len(ids), "enqueued": accepted}


@crm_cli.command("sweep-digests")
@click.option("--at", "at", default=None, metavar="ISO-TIME",
              help="Sweep as if it were this time (UTC unless an offset is given).")
def sweep_digests(at: str | None) -> None:
    """Ledger the digests whose period has ended and enqueue their sending."""
    result = run_sweep(current_app._get_current_object(), parse_at(at))
    click.echo(f"{result['ledgered']} digest(s) ledgered, {result['enqueued']} enqueued.")
