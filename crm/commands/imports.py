"""flask --app crm crm import-partners FILE.csv — the same import as /admin/import."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from sqlalchemy import func, select
from tqdm import tqdm

from crm.cli import crm_cli
from crm.extensions import db
from crm.lib import csvsafe
from crm.models import User
from crm.services import imports
from crm.services.errors import ValidationError


@crm_cli.command("import-partners")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "as_email", help="Email of the user who owns the new partners.")
@click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN",
              help="Override the automatic column mapping (repeatable).")
@click.option("--dry-run", is_flag=True, help="Show the preview only; write nothing.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the per-row results to this CSV file.")
def import_partners(csv_file: Path, as_email: str | None, maps: tuple[str, ...], dry_run: bool,
                    report: Path | None) -> None:
    """Import partners (and contacts) from a CSV file, all rows or none."""
    user = None
    if as_email:
        user = db.session.scalar(select(User).where(func.lower(User.email) == as_email.lower()))
        if user is None:
            raise click.UsageError(f"No user with email {as_email}")
    try:
        decoded = imports.decode_upload(csv_file.read_bytes(), csv_file.name,
                                        current_app.config["IMPORT_MAX_BYTES"])
        if decoded.note:
            click.secho(decoded.note, fg="yellow")
        job = imports.create_job(user, csv_file.name, decoded)
        header, table = imports.job_table(job)
        mapping = dict(job.mapping or {})
        for item in maps:
            target, _, column = item.partition("=")
            mapping[target.strip()] = column.strip()
        mapping = imports.clean_mapping(header, mapping)
        job.mapping = mapping
    except ValidationError as exc:
        db.session.rollback()
        raise click.ClickException("; ".join(exc.fields.values())) from None
    click.echo("Columns: " + ", ".join(f"{f} ← {c!r}" for f, c in mapping.items()))
    checked = imports.check_rows(header, table, mapping, user)
    summary = checked.summary()
    click.echo(f"{summary['rows']} rows: {summary['new_partners']} new partners, "
               f"{summary['existing_partners']} existing matched, {summary['problems']} with "
               "problems")
    for row in checked.problem_rows[:20]:
        click.secho(f"  line {row.line}: {'; '.join(row.problems)}", fg="red")
    if len(checked.problem_rows) > 20:
        click.echo(f"  … and {len(checked.problem_rows) - 20} more")
    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing written.")
        return
    job.status = "running"
    with tqdm(total=len(table), unit="row", desc="Importing") as bar:
        def progress(done: int) -> None:
            bar.update(done - bar.n)

        try:
            outcome = imports.execute_job(job, progress=progress, checked=checked)
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            raise click.ClickException(f"Import failed, nothing was written: {exc}") from exc
    click.echo(f"Created {outcome.created}, updated {outcome.updated}, skipped "
               f"{outcome.skipped}, failed {outcome.failed} (import job #{job.id}).")
    if report:
        report.write_text(csvsafe.to_text(imports.RESULT_HEADER, imports.result_rows(job)),
                          encoding="utf-8")
        click.echo(f"Results written to {report}")
