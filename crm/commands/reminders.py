"""flask --app crm crm sweep-reminders [--at ISO-TIME] (the work is crm.jobs.run_reminder_sweep,
which the beat task `tasks.reminders.sweep` runs too)."""

from __future__ import annotations

import click
from flask import current_app

from crm import jobs
from crm.cli import crm_cli


def moment_option(value: str | None):
    """`--at` as a UTC datetime, or a usage error naming the bad value."""
    try:
        return jobs.parse_moment(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@crm_cli.command("sweep-reminders")
@click.option("--at", "at", default=None, help="Sweep as if it were this ISO time (UTC if naive).")
def sweep_reminders(at: str | None) -> None:
    """Insert the follow-up reminders due now and enqueue their emails."""
    result = jobs.run_reminder_sweep(current_app, moment_option(at))
    click.echo(", ".join(f"{key}={value}" for key, value in result.items()))
