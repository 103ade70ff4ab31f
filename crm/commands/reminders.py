"""flask --app crm crm sweep-reminders [--at ISO-TIME]

`run_sweep` is also what the beat task `tasks.reminders.sweep` runs: it owns the
transaction (service → commit → enqueue), and re-enqueues ledger rows left behind.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import Flask, current_app

from crm.celery_app import SEND_TASK, enqueue_many
from crm.cli import crm_cli
from crm.extensions import db
from crm.services import deliveries, reminders, timeutil


def run_sweep(app: Flask, now: datetime | None = None) -> dict[str, int]:
    """Requeue stuck rows, insert what is due at `now`, commit, then enqueue one task per email.

    Stuck rows are handled first so the rows inserted now are never mistaken for them.
    """
    now = now or timeutil.now_utc()
    config = app.config
    stuck = deliveries.requeue_stuck(now, int(config["DELIVERY_STUCK_MINUTES"]))
    db.session.commit()
    fresh = reminders.sweep(now, hour=int(config["REMINDER_HOUR"]),
                            escalation_days=int(config["ESCALATION_DAYS"]))
    db.session.commit()  # the ledger holds the work before the broker hears of it
    accepted = enqueue_many(app, SEND_TASK, [[ids] for ids in stuck + fresh])
    return {"inserted": sum(len(ids) for ids in fresh), "emails": len(fresh),
            "requeued": sum(len(ids) for ids in stuck), "enqueued": accepted,
            "not_enqueued": len(stuck) + len(fresh) - accepted}


def parse_at(value: str | None) -> datetime | None:
    """An ISO time; a naive one is taken as UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@crm_cli.command("sweep-reminders")
@click.option("--at", "at", default=None, help="Sweep as if it were this ISO time (UTC if naive).")
def sweep_reminders(at: str | None) -> None:
    """Insert the follow-up reminders due now and enqueue their emails."""
    result = run_sweep(current_app._get_current_object(), parse_at(at))
    click.echo(", ".join(f"{key}={value}" for key, value in result.items()))
