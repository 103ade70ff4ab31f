"""flask --app crm crm apply-retention [--dry-run] [--at ISO-TIME]: the retention policy
applied now (or as if at ISO-TIME), printing the counts per sensitivity and year. The beat
task `tasks.retention.apply` runs the same service every night."""

from __future__ import annotations

import click

from crm.cli import crm_cli
from crm.commands.reminders import moment_option
from crm.extensions import db
from crm.lib import timeutil
from crm.services.personal_data import retention


def report_lines(counts: dict, *, dry_run: bool) -> list[str]:
    """One line per sensitivity, then one per year of occurrence (UTC)."""
    lines = []
    for sensitivity, entry in counts.items():
        if entry["years"] is None:
            lines.append(f"{sensitivity}: kept forever")
            continue
        done = {"redact": "redacted", "delete": "deleted"}[entry["action"]]
        verb = f"would {entry['action']}" if dry_run else done
        lines.append(f"{sensitivity} ({entry['action']} after {entry['years']} years): "
                     f"{verb} {entry['total']}")
        lines.extend(f"  {year}: {verb} {n}" for year, n in sorted(entry["by_year"].items()))
    return lines


@crm_cli.command("apply-retention")
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
@click.option("--at", "at", default=None, metavar="ISO-TIME",
              help="Apply as if it were this time (UTC unless an offset is given).")
def apply_retention(dry_run: bool, at: str | None) -> None:
    """Redact or delete the interactions past their retention period."""
    moment = moment_option(at) or timeutil.now_utc()
    counts = retention.apply(moment, dry_run=dry_run)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    click.echo(f"Retention as of {moment.isoformat()}"
               + (" (dry run: nothing changed)" if dry_run else ""))
    for line in report_lines(counts, dry_run=dry_run):
        click.echo(line)
