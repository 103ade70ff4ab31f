"""The import job's lifecycle: store an upload, run it, record the outcome, report it.

`create_job` and `execute_job` only flush (the view, task or command commits); the two
exceptions write in their own short transaction on purpose: `store_progress`, so a page can
poll progress while the import's transaction is still open, and `mark_failed`, because the
import's own transaction was rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from sqlalchemy import update

from crm.extensions import db
from crm.lib import context, timeutil
from crm.models import AuditEvent, ImportJob, User

from . import agreements as agreement_rows
from . import mapping as partner_mapping
from . import preview as partner_preview
from . import writers as partner_writers
from .preview import Checked
from .reading import Decoded, read_table
from .writers import Outcome


@dataclass(frozen=True)
class Kind:
    """What a job of one kind uses: its fields, mapping, checks and writer."""

    fields: dict
    required: tuple[str, ...]
    auto_mapping: Callable
    clean_mapping: Callable
    check_rows: Callable
    run_import: Callable


def _kind(module: ModuleType, mapping_module: ModuleType, writer: ModuleType) -> Kind:
    return Kind(mapping_module.FIELDS, mapping_module.REQUIRED_FIELDS,
                mapping_module.auto_mapping, mapping_module.clean_mapping,
                module.check_rows, writer.run_import)


#: ImportJob.kind → its machinery (partners, with one contact per row; agreements)
KINDS: dict[str, Kind] = {
    "partners": _kind(partner_preview, partner_mapping, partner_writers),
    "agreements": _kind(agreement_rows, agreement_rows, agreement_rows),
}


def create_job(user: User | None, filename: str, decoded: Decoded,
               kind: str = "partners") -> ImportJob:
    """Store the uploaded text with a guessed mapping (validates that it is a table)."""
    header, table = read_table(decoded.text)
    job = ImportJob(created_by_id=user.id if user else None, filename=filename[:255],
                    content=decoded.text, mapping=KINDS[kind].auto_mapping(header),
                    status="pending", total_rows=len(table), kind=kind)
    db.session.add(job)
    db.session.flush()
    return job


def job_table(job: ImportJob) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the job's stored text, for the mapping and preview pages."""
    return read_table(job.content)


def execute_job(job: ImportJob, progress: Callable[[int], None] | None = None,
                checked: Checked | None = None) -> Outcome:
    """Check (unless given `checked`) and write a job's rows; record the outcome on the
    job (flush only)."""
    header, table = read_table(job.content)
    kind = KINDS[job.kind or "partners"]
    if checked is None:
        mapping = kind.clean_mapping(header, job.mapping or {})
        user = db.session.get(User, job.created_by_id) if job.created_by_id else None
        checked = kind.check_rows(header, table, mapping, user)
    out = kind.run_import(checked, actor_id=job.created_by_id, job_id=job.id,
                          progress=progress)
    job.status = "done"
    job.total_rows = len(table)
    job.processed_rows = len(table)
    job.created_count, job.updated_count = out.created, out.updated
    job.skipped_count, job.failed_count = out.skipped, out.failed
    job.results = out.results
    job.finished_at = timeutil.now_utc()
    db.session.add(AuditEvent(action=f"import.{job.kind or 'partners'}", actor_id=job.created_by_id,
                              object_type="import_job", object_id=str(job.id),
                              details={"filename": job.filename, "rows": len(table),
                                       "created": out.created, "updated": out.updated,
                                       "skipped": out.skipped, "failed": out.failed},
                              request_id=context.request_id.get(), ip=context.client_ip.get()))
    db.session.flush()
    return out


def store_progress(job_id: int, processed: int, status: str = "running") -> None:
    """Write progress in its own short transaction, so a page can poll it while the
    import's own transaction is still open. Skipped on SQLite, whose single writer lock
    the import holds (the page then shows an indeterminate bar until the end)."""
    if db.engine.dialect.name == "sqlite":
        return
    with db.engine.begin() as conn:
        conn.execute(update(ImportJob).where(ImportJob.id == job_id)
                     .values(processed_rows=processed, status=status))


def mark_failed(job_id: int, message: str) -> None:
    """Record a failed import in its own transaction (the import's was rolled back)."""
    with db.engine.begin() as conn:
        conn.execute(update(ImportJob).where(ImportJob.id == job_id).values(
            status="failed", error=message[:2000], processed_rows=0,
            finished_at=timeutil.now_utc()))


RESULT_HEADER = ["row", "name", "outcome", "reason"]
#: administrators also get why a row was withheld from its importer
ADMIN_RESULT_HEADER = [*RESULT_HEADER, "detail"]


def result_rows(job: ImportJob, *, with_detail: bool = False) -> list[list[Any]]:
    """The job's per-row outcomes; `with_detail` (administrators only) adds why a row was
    refused without telling its importer."""
    return [[r["row"], r["name"], r["outcome"], r["reason"],
             *([r.get("detail") or ""] if with_detail else [])] for r in job.results or []]
