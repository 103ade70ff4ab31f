"""CSV import of partners (and optionally one contact per row).

Three steps, each usable from the web page, the Celery task and the CLI:

1. `decode_upload` turns the uploaded bytes into text (UTF-8, else Latin-1 — and says so)
   and refuses what is not a CSV file, empty or too large.
2. `check_rows` validates every row against the column `mapping` and matches it against
   the database in bulk (name+country for partners, email for contacts): the preview.
3. `run_import` writes the checked rows in chunks of bulk INSERT/UPDATE statements (no
   per-row round trip). It only flushes: the caller commits once, so a file is imported
   entirely or not at all, and re-importing the same file changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text, update

from crm.extensions import db
from crm.models import AuditEvent, Contact, ImportJob, Partner, PartnerTag, User

from .. import context, countries, timeutil
from ..text import name_key
from .mapping import FIELDS, REQUIRED_FIELDS, auto_mapping, clean_mapping
from .preview import CHUNK, UPDATABLE, WITHHELD, Checked, check_rows, chunks
from .reading import Decoded, decode_upload, read_table
from .rows import FALSE, TRUE, RowCheck, country_code, sector_code

__all__ = [
    "CHUNK", "FALSE", "FIELDS", "REQUIRED_FIELDS", "TRUE", "UPDATABLE", "WITHHELD", "Checked",
    "Decoded", "RowCheck", "auto_mapping", "check_rows", "clean_mapping", "country_code",
    "decode_upload", "read_table", "sector_code",
]
OUTCOMES = ("created", "updated", "skipped", "failed")


# --- 3. writing ----------------------------------------------------------------------------

@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)

    def add(self, check: RowCheck, outcome: str, reason: str = "") -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        result = {"row": check.line, "name": check.name, "outcome": outcome, "reason": reason}
        if check.withheld:
            result["detail"] = "; ".join(check.withheld)  # shown to administrators only
        self.results.append(result)


def _audit_rows(actor_id: int | None, job_id: int | None, items: list[tuple[str, int, dict]]
                ) -> list[dict[str, Any]]:
    now = timeutil.now_utc()
    return [{"action": action, "actor_id": actor_id, "object_type": "partner",
             "object_id": str(pid), "changes": changes or None,
             "details": {"import_job": job_id}, "request_id": context.request_id.get(),
             "ip": context.client_ip.get(), "at": now}
            for action, pid, changes in items]


def _bulk_insert(model: Any, rows: list[dict[str, Any]], *, ids: bool = False) -> list[int]:
    """Insert `rows` in one bulk operation; with `ids`, return the new ids in row order.

    On PostgreSQL the rows go through COPY (ids taken from the table's sequence first), the
    fastest bulk path there is; on SQLite one multi-row INSERT (plus one SELECT for ids).
    """
    table = model.__table__ if hasattr(model, "__table__") else model
    if not rows:
        return []
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(insert(model), rows)
        if not ids:
            return []
        # SQLite has one writer and this transaction holds it: the newest N ids are ours, in
        # insertion order (RETURNING in parameter order would fall back to row-at-a-time)
        newest = db.session.scalars(select(table.c.id).order_by(table.c.id.desc())
                                    .limit(len(rows))).all()
        return list(reversed(newest))
    from psycopg.types.json import Json

    conn = db.session.connection()
    new_ids: list[int] = []
    if ids:
        new_ids = list(conn.execute(text(
            "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table.name, "n": len(rows)}).scalars())
        rows = [{**row, "id": new_id} for row, new_id in zip(rows, new_ids, strict=True)]
    columns = list(rows[0])
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([Json(v) if isinstance(v, dict | list) else v
                            for v in (row[c] for c in columns)])
    return new_ids


def run_import(checked: Checked, *, actor_id: int | None, job_id: int | None = None,
               progress: Callable[[int], None] | None = None) -> Outcome:
    """Write the checked rows with bulk statements. Flushes only: the caller commits."""
    out = Outcome()
    now = timeutil.now_utc()
    created_ids: dict[tuple[str, str], int] = {}
    done = 0
    for chunk in chunks(checked.rows):
        _write_chunk(chunk, checked, created_ids, out, actor_id, job_id, now)
        done += len(chunk)
        if progress:
            progress(done)
    db.session.flush()
    db.session.expire_all()
    return out


def _write_chunk(chunk: Sequence[RowCheck], checked: Checked,
                 created_ids: dict[tuple[str, str], int], out: Outcome, actor_id: int | None,
                 job_id: int | None, now: datetime) -> None:
    new_partners: list[dict[str, Any]] = []
    new_keys: list[tuple[str, str]] = []
    new_tags: dict[tuple[str, str], list[str]] = {}
    updates: list[dict[str, Any]] = []
    audits: list[tuple[str, int, dict]] = []
    for r in chunk:
        if not r.ok:
            continue
        v = r.values
        key = (name_key(v["name"]), v["country"])
        if r.partner_id is None and r.same_as_line is None:
            new_partners.append({
                "name": v["name"], "name_key": key[0], "country": v["country"],
                "region": countries.region_of(v["country"]), "sector": v["sector"],
                "stage": v.get("stage") or "prospect", "owner_id": actor_id,
                "sensitivity": "standard", "website": v.get("website"),
                "email": v.get("email"), "description": v.get("description"),
                "is_member": bool(v.get("is_member", False)), "archived": False,
                "last_interaction_at": None, "created_at": now,
                "updated_at": now, "version": 1,
            })
            new_keys.append(key)
            new_tags[key] = v.get("tags", [])
        elif r.partner_id is not None and r.same_as_line is None:
            old = checked.existing[key]
            changes = {c: [old[c], v[c]] for c in UPDATABLE if c in v and v[c] != old[c]}
            if changes:
                updates.append({"id": old["id"], "version": old["version"] + 1,
                                "updated_at": now, **{c: new for c, (_, new) in changes.items()}})
                audits.append(("partner.update", old["id"], changes))
            new_tags[key] = v.get("tags", [])
    if new_partners:
        ids = _bulk_insert(Partner, new_partners, ids=True)
        for key, pid in zip(new_keys, ids, strict=True):
            created_ids[key] = pid
            audits.append(("partner.create", pid, {}))
    if updates:
        db.session.execute(update(Partner), updates)
    _add_tags(new_tags, created_ids, checked)
    contacts = _add_contacts(chunk, checked, created_ids, now)
    if audits:
        _bulk_insert(AuditEvent, _audit_rows(actor_id, job_id, audits))
    changed = {a[1] for a in audits if a[0] == "partner.update"}
    for r in chunk:
        if not r.ok:
            out.add(r, "failed", "; ".join(r.problems))
            continue
        if r.partner_id is None and r.same_as_line is None:
            out.add(r, "created", "new partner" + (" and contact" if r.line in contacts else ""))
        elif r.line in contacts:
            out.add(r, "updated", "contact added")
        elif r.partner_id in changed and r.same_as_line is None:
            out.add(r, "updated", "partner fields changed")
        else:
            why = "already up to date"
            if r.contact_exists:
                why += "; contact already exists"
            out.add(r, "skipped", why)


def _add_tags(new_tags: dict[tuple[str, str], list[str]], created_ids: dict[tuple[str, str], int],
              checked: Checked) -> None:
    wanted: set[tuple[int, str]] = set()
    for key, tags in new_tags.items():
        pid = created_ids.get(key) or (checked.existing.get(key) or {}).get("id")
        wanted.update((pid, t) for t in tags if pid)
    if not wanted:
        return
    have = set(db.session.execute(select(PartnerTag.partner_id, PartnerTag.tag).where(
        PartnerTag.partner_id.in_({p for p, _ in wanted}))).tuples())
    rows = [{"partner_id": p, "tag": t} for p, t in sorted(wanted - have)]
    _bulk_insert(PartnerTag, rows)


def _add_contacts(chunk: Sequence[RowCheck], checked: Checked,
                  created_ids: dict[tuple[str, str], int], now: datetime) -> set[int]:
    """Insert the chunk's new contacts; returns the lines that added one."""
    rows, lines = [], set()
    for r in chunk:
        v = r.values
        if not r.ok or not v.get("contact_name") or r.contact_exists:
            continue
        key = (name_key(v["name"]), v["country"])
        existing = checked.existing.get(key)
        pid = created_ids.get(key) or (existing or {}).get("id")
        if pid is None:
            continue
        if not v.get("contact_email") and existing is not None:
            continue  # without an email a contact cannot be matched again: never duplicate
        rows.append({"partner_id": pid, "name": v["contact_name"][:200],
                     "title": v.get("contact_title"), "email": v.get("contact_email"),
                     "phone": v.get("contact_phone"),
                     "sensitivity": (existing or {}).get("sensitivity", "standard"),
                     "archived": False, "version": 1, "created_at": now, "updated_at": now})
        lines.add(r.line)
    _bulk_insert(Contact, rows)
    return lines


# --- jobs -------------------------------------------------------------------------------

def create_job(user: User | None, filename: str, decoded: Decoded) -> ImportJob:
    """Store the uploaded text with a guessed mapping (validates that it is a table)."""
    header, table = read_table(decoded.text)
    job = ImportJob(created_by_id=user.id if user else None, filename=filename[:255],
                    content=decoded.text, mapping=auto_mapping(header), status="pending",
                    total_rows=len(table))
    db.session.add(job)
    db.session.flush()
    return job


def job_table(job: ImportJob) -> tuple[list[str], list[list[str]]]:
    return read_table(job.content)


def execute_job(job: ImportJob, progress: Callable[[int], None] | None = None,
                checked: Checked | None = None) -> Outcome:
    """Check (unless given `checked`) and write a job's rows; record the outcome on the
    job (flush only)."""
    header, table = read_table(job.content)
    if checked is None:
        mapping = clean_mapping(header, job.mapping or {})
        user = db.session.get(User, job.created_by_id) if job.created_by_id else None
        checked = check_rows(header, table, mapping, user)
    out = run_import(checked, actor_id=job.created_by_id, job_id=job.id, progress=progress)
    job.status = "done"
    job.total_rows = len(table)
    job.processed_rows = len(table)
    job.created_count, job.updated_count = out.created, out.updated
    job.skipped_count, job.failed_count = out.skipped, out.failed
    job.results = out.results
    job.finished_at = timeutil.now_utc()
    db.session.add(AuditEvent(action="import.partners", actor_id=job.created_by_id,
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
