"""The writers: checked rows become partners, tags, contacts and audit events in chunks of
bulk statements (COPY on PostgreSQL, one multi-row INSERT elsewhere), never one per row.

Flushes only: the caller commits once, so a file is imported entirely or not at all, and
re-importing the same file changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg.types.json import Json
from sqlalchemy import insert, select, text, update

from crm.extensions import db
from crm.lib import context, countries, timeutil
from crm.lib.text import name_key
from crm.models import AuditEvent, Contact, Partner, PartnerTag

from .preview import UPDATABLE, Checked, chunks
from .rows import RowCheck

#: every value a row's "outcome" can take
OUTCOMES = ("created", "updated", "skipped", "failed")


@dataclass
class Outcome:
    """Counts per outcome and one result per row: what the job stores and the page shows."""

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

