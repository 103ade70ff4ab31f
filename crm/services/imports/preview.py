"""The preview: every row cleaned, then matched against the database in bulk (name and
country for partners, email for contacts) with a fixed number of SELECTs per 1000 rows.

A row that clashes with a record the importer may not see is refused with the same words
whatever the record (`WITHHELD`), so the preview is no oracle for hidden partners or contacts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from crm.extensions import db
from crm.lib.text import name_key
from crm.models import Contact, Partner, User

from .. import access
from .rows import RowCheck, clean_row

#: rows per bulk statement, when matching and when writing
CHUNK = 1000
#: partner columns an import may change on an existing partner
UPDATABLE = ("sector", "stage", "website", "email", "description", "is_member")
#: what an importer is told about a row that clashes with a record they cannot see: the same
#: words whatever the record, so the preview is no oracle for hidden partners or contacts
WITHHELD = "this row cannot be imported; ask an administrator"


def chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    """`items` in slices of `size` (one bulk statement each)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _existing_partners(keys: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Existing partners by (name_key, country), in chunks of bulk SELECTs."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    names = sorted({k for k, _ in keys})
    columns = [Partner.id, Partner.name_key, Partner.country, Partner.version,
               Partner.sensitivity, *(getattr(Partner, c) for c in UPDATABLE)]
    for chunk in chunks(names):
        stmt = select(*columns).where(Partner.name_key.in_(chunk)).order_by(Partner.id)
        for row in db.session.execute(stmt).mappings():
            key = (row["name_key"], row["country"])
            if key in keys and key not in found:
                found[key] = dict(row)
    return found


def _existing_contact_emails(emails: set[str], user: User | None
                             ) -> tuple[dict[str, int], dict[str, int]]:
    """(lower(email) → partner id of a contact the importer may see, lower(email) → partner
    id of one they may not). The CLI (`user` None) sees every contact."""
    visible: dict[str, int] = {}
    hidden: dict[str, int] = {}
    for chunk in chunks(sorted(emails)):
        stmt = select(func.lower(Contact.email), Contact.partner_id, Contact.id).where(
            func.lower(Contact.email).in_(chunk)).order_by(Contact.id)
        rows = db.session.execute(stmt).all()
        seen = {row.id for row in rows}
        if user is not None and rows:
            seen = set(db.session.scalars(access.visible_contacts(user, select(Contact.id))
                                          .where(Contact.id.in_(seen))))
        for email, partner_id, contact_id in rows:
            (visible if contact_id in seen else hidden).setdefault(email, partner_id)
    return visible, hidden


def _visible_ids(user: User | None, ids: set[int]) -> set[int]:
    if user is None:  # the CLI runs as the system, with full access
        return ids
    visible: set[int] = set()
    for chunk in chunks(sorted(ids)):
        visible.update(db.session.scalars(
            access.visible_partners(user, select(Partner.id)).where(Partner.id.in_(chunk))))
    return visible


def _withhold(row: RowCheck, why: str) -> None:
    """Refuse `row` without telling the importer about a record they cannot see; `why` is
    kept for administrators (the job's results show it to them only)."""
    row.problems.append(WITHHELD)
    row.withheld.append(why)


@dataclass
class Checked:
    rows: list[RowCheck]
    existing: dict[tuple[str, str], dict[str, Any]]

    @property
    def problem_rows(self) -> list[RowCheck]:
        return [r for r in self.rows if r.problems]

    def summary(self) -> dict[str, int]:
        ok = [r for r in self.rows if r.ok]
        return {
            "rows": len(self.rows),
            "problems": len(self.rows) - len(ok),
            "new_partners": len({(r.values["name"], r.values["country"]) for r in ok
                                 if r.partner_id is None and r.same_as_line is None}),
            "existing_partners": len({r.partner_id for r in ok if r.partner_id}),
        }


def check_rows(header: Sequence[str], table: Sequence[Sequence[str]], mapping: dict[str, str],
               user: User | None = None,
               progress: Callable[[int], None] | None = None) -> Checked:
    """Validate and match every row (a fixed number of bulk SELECTs per 1000 rows)."""
    index = {col: i for i, col in enumerate(header)}
    rows: list[RowCheck] = []
    for n, cells in enumerate(table):
        raw = {f: cells[index[c]] if index[c] < len(cells) else "" for f, c in mapping.items()}
        rows.append(clean_row(n + 2, raw))
        if progress and n % CHUNK == CHUNK - 1:
            progress(n + 1)
    keyed = [r for r in rows if r.ok]
    keys = {(name_key(r.values["name"]), r.values["country"]) for r in keyed}
    existing = _existing_partners(keys)
    visible = _visible_ids(user, {p["id"] for p in existing.values()})
    emails = {r.values["contact_email"].lower() for r in keyed if r.values.get("contact_email")}
    contacts, hidden_contacts = _existing_contact_emails(emails, user)
    first_line: dict[tuple[str, str], int] = {}
    seen_emails: dict[str, int] = {}
    for r in keyed:
        key = (name_key(r.values["name"]), r.values["country"])
        match = existing.get(key)
        if match and match["id"] not in visible:
            _withhold(r, f"a partner with this name and country exists (#{match['id']}, "
                         f"{match['sensitivity']}) that the importer cannot see")
            continue
        email = (r.values.get("contact_email") or "").lower()
        if email and email not in contacts and email in hidden_contacts:
            _withhold(r, f"contact {email} already exists (partner #{hidden_contacts[email]})"
                         " and the importer cannot see it")
            continue
        if match:
            r.partner_id = match["id"]
            r.notes.append(f"duplicate of existing partner #{match['id']} (name and country):"
                           " it is updated where the file differs, never duplicated")
        if key in first_line:
            r.same_as_line = first_line[key]
            r.notes.append(f"same partner as line {first_line[key]}")
        else:
            first_line[key] = r.line
        if email and email in contacts:
            r.contact_exists = True
            r.notes.append(f"duplicate contact: {email} already exists (partner "
                           f"#{contacts[email]}); the contact is not added again")
        elif email and email in seen_emails:
            r.contact_exists = True
            r.notes.append(f"contact {email} already appears on line {seen_emails[email]}")
        elif email:
            seen_emails[email] = r.line
    return Checked(rows, existing)
