"""flask --app crm crm sweep-digests [--at ISO-TIME]"""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app

from crm.celery_app import enqueue
from crm.cli import crm_cli
from crm.extensions import db
from crm.services import digests, timeutil


def parse_at(value: str | None) -> datetime:
    """`--at` as an aware UTC time (naive means UTC); now when absent."""
    if not value:
        return timeutil.now_utc()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time",
                                 param_hint="--at") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@crm_cli.command("sweep-digests")
@click.option("--at", "at", default=None, metavar="ISO-TIME",
              help="Pretend it is this time (UTC unless an offset is given).")
def sweep_digests(at: str | None) -> None:
    """Ledger the digests whose period has ended and enqueue their sending."""
    ids = digests.sweep(parse_at(at))
    db.session.commit()
    queued = sum(enqueue(current_app, "tasks.delivery.send", [i]) for i in ids)
    click.echo(f"{len(ids)} digest(s) ledgered, {queued} enqueued.")
