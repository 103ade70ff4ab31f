"""flask --app crm crm sweep-digests [--at ISO-TIME] (the work is crm.jobs.run_digest_sweep,
which the beat task `tasks.digests.sweep` runs too; rows left queued or sending are
re-enqueued by the reminder sweep, for every kind of ledger row)."""

from __future__ import annotations

import click
from flask import current_app

from crm import jobs
from crm.cli import crm_cli
from crm.commands.reminders import moment_option


@crm_cli.command("sweep-digests")
@click.option("--at", "at", default=None, metavar="ISO-TIME",
              help="Sweep as if it were this time (UTC unless an offset is given).")
def sweep_digests(at: str | None) -> None:
    """Ledger the digests whose period has ended and enqueue their sending."""
    result = jobs.run_digest_sweep(current_app, moment_option(at))
    click.echo(f"{result['ledgered']} digest(s) ledgered, {result['enqueued']} enqueued.")
