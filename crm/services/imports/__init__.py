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

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import pycountry
from sqlalchemy import func, insert, select, text, update

from crm.extensions import db
from crm.models import AuditEvent, Contact, ImportJob, Partner, PartnerTag, User
from crm.models.enums import SECTOR_LABELS, SECTORS, STAGES

from .. import access, context, countries, partners, timeutil
from ..errors import ValidationError
from ..text import name_key

CHUNK = 1000
#: target field → (label, header names that map to it automatically)
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "name": ("Partner name", ("name", "partner", "partner name", "organisation", "organization",
                              "organisation name", "organization name", "org")),
    "sector": ("Sector", ("sector", "type", "category")),
    "country": ("Country", ("country", "country code", "iso", "iso2", "country iso")),
    "stage": ("Stage", ("stage", "status", "pipeline stage")),
    "website": ("Website", ("website", "web", "url", "site", "web site")),
    "email": ("Partner email", ("email", "partner email", "organisation email",
                                "organization email", "general email")),
    "description": ("Description", ("description", "notes", "about")),
    "tags": ("Tags", ("tags", "tag", "keywords")),
    "is_member": ("Member organisation", ("member", "is member", "is_member",
                                          "member organisation", "member organization")),
    "contact_name": ("Contact name", ("contact", "contact name", "contact person")),
    "contact_title": ("Contact title", ("contact title", "contact role", "title", "role",
                                        "job title")),
    "contact_email": ("Contact email", ("contact email", "contact e-mail", "person email")),
    "contact_phone": ("Contact phone", ("contact phone", "phone", "telephone", "tel")),
}
REQUIRED_FIELDS = ("name", "sector", "country")
#: partner columns an import may change on an existing partner
UPDATABLE = ("sector", "stage", "website", "email", "description", "is_member")
OUTCOMES = ("created", "updated", "skipped", "failed")
#: what an importer is told about a row that clashes with a record they cannot see: the same
#: words whatever the record, so the preview is no oracle for hidden partners or contacts
WITHHELD = "this row cannot be imported; ask an administrator"
TRUE = {"1", "yes", "y", "true", "x", "member", "oui", "sí", "si"}
FALSE = {"0", "no", "n", "false", "", "non"}


# --- 1. reading the file ------------------------------------------------------------------

@dataclass
class Decoded:
    text: str
    encoding: str
    #: shown to the user, e.g. that the file was read as Latin-1
    note: str | None = None


def decode_upload(data: bytes, filename: str, max_bytes: int) -> Decoded:
    """The file's text, or ValidationError({'file': a message a person can act on})."""
    name = (filename or "").lower()
    if not data:
        raise ValidationError({"file": "The file is empty."})
    if len(data) > max_bytes:
        raise ValidationError({"file": f"The file is {len(data) / 1e6:.1f} MB; the limit is "
                                       f"{max_bytes / 1e6:.1f} MB. Split it into smaller files."})
    if data[:4] == b"PK\x03\x04" or name.endswith((".xlsx", ".xls", ".ods")):
        raise ValidationError({"file": "This looks like a spreadsheet workbook, not CSV. "
                                       "Save it as “CSV UTF-8” and upload that."})
    if name and not name.endswith((".csv", ".txt", ".tsv")):
        raise ValidationError({"file": "Upload a .csv file."})
    if b"\x00" in data[:65536]:
        raise ValidationError({"file": "This is not a text CSV file (it contains binary data)."})
    try:
        text = data.decode("utf-8-sig")
        decoded = Decoded(text, "utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        decoded = Decoded(text, "latin-1", "The file is not UTF-8; it was read as Latin-1 "
                                           "(ISO-8859-1). Check that accented names look right "
                                           "below, or re-save the file as “CSV UTF-8”.")
    if not text.strip():
        raise ValidationError({"file": "The file is empty."})
    return decoded


def read_table(text: str) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a CSV text; the delimiter (comma, semicolon, tab) is detected."""
    sample = text[:20000]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        reader = csv.reader(io.StringIO(text), dialect)
        table = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise ValidationError({"file": f"This file could not be read as CSV: {exc}."}) from None
    if not table:
        raise ValidationError({"file": "The file is empty."})
    header = [h.strip() for h in table[0]]
    if len(header) < 2 or not any(h for h in header):
        raise ValidationError({"file": "This does not look like CSV with a header row "
                                       "(name, country, sector, …)."})
    if len(table) < 2:
        raise ValidationError({"file": "The file has a header row but no data rows."})
    return header, table[1:]


def _norm_header(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("-", " ").lower().split())


def auto_mapping(header: Sequence[str]) -> dict[str, str]:
    """{field: column header} guessed from the header names (each column used once)."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    normalised = {h: _norm_header(h) for h in header if h}
    for target, (label, aliases) in FIELDS.items():
        wanted = {_norm_header(a) for a in (*aliases, target, label)}
        for original, norm in normalised.items():
            if norm in wanted and original not in used:
                mapping[target] = original
                used.add(original)
                break
    return mapping


def clean_mapping(header: Sequence[str], mapping: dict[str, str]) -> dict[str, str]:
    """Keep only known fields mapped to existing columns; the required ones must be there."""
    clean = {f: c for f, c in mapping.items() if f in FIELDS and c and c in header}
    missing = [FIELDS[f][0] for f in REQUIRED_FIELDS if f not in clean]
    if missing:
        raise ValidationError({"mapping": "Choose the column holding: " + ", ".join(missing)})
    return clean


# --- 2. checking rows (the preview) ---------------------------------------------------------

@cache
def country_code(value: str) -> str | None:
    """ISO alpha-2 from a code (alpha-2/alpha-3) or an English country name."""
    value = value.strip()
    if not value:
        return None
    aliases = {"uk": "GB", "usa": "US", "u.s.": "US", "u.s.a.": "US", "russia": "RU",
               "south korea": "KR", "north korea": "KP", "vietnam": "VN", "laos": "LA"}
    if value.lower() in aliases:
        return aliases[value.lower()]
    try:
        return pycountry.countries.lookup(value).alpha_2
    except LookupError:
        return None


def _norm_word(text: str) -> str:
    return _norm_header(text.replace("&", " and "))


_SECTOR_WORDS = {_norm_word(k): k for k in SECTORS} | {
    _norm_word(v): k for k, v in SECTOR_LABELS.items()}


def sector_code(value: str) -> str | None:
    """Sector code from a code or its label ('Travel & tourism', 'travel_tourism')."""
    return _SECTOR_WORDS.get(_norm_word(value))


@dataclass
class RowCheck:
    """One data row: its cleaned values, problems (which fail it) and notes."""

    line: int
    name: str
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: an existing partner with the same name and country (id), or None
    partner_id: int | None = None
    #: the first row of this file describing the same partner (line), or None
    same_as_line: int | None = None
    contact_exists: bool = False
    #: why the row was refused with WITHHELD: for administrators' eyes only
    withheld: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _clean_row(line: int, raw: dict[str, str]) -> RowCheck:
    get = lambda key: (raw.get(key) or "").strip()  # noqa: E731
    check = RowCheck(line, get("name"))
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if not check.name:
        check.problems.append("missing name")
    elif len(check.name) > partners.NAME_MAX:
        check.problems.append(f"name longer than {partners.NAME_MAX} characters")
    values["name"] = check.name
    country = country_code(get("country"))
    if not get("country"):
        check.problems.append("missing country")
    elif not country:
        check.problems.append(f"unknown country {get('country')!r}")
    values["country"] = country
    sector = sector_code(get("sector")) if get("sector") else None
    if not get("sector"):
        check.problems.append("missing sector")
    elif not sector:
        check.problems.append(f"unknown sector {get('sector')!r}")
    values["sector"] = sector
    if get("stage"):
        stage = get("stage").lower()
        if stage not in STAGES:
            check.problems.append(f"unknown stage {get('stage')!r}")
        values["stage"] = stage
    if get("website"):
        values["website"] = partners.clean_url(get("website"), errors)
    if get("email"):
        values["email"] = partners.clean_email(get("email"), errors, "email")
    if get("description"):
        values["description"] = partners.clean_text(get("description"),
                                                     partners.DESCRIPTION_MAX,
                                                     "description", errors)
    if "is_member" in raw and get("is_member").lower() in TRUE | FALSE:
        values["is_member"] = get("is_member").lower() in TRUE
    elif get("is_member"):
        check.problems.append(f"member must be yes or no, not {get('is_member')!r}")
    if get("tags"):
        tags = [partners.normalise_tag(t) for t in get("tags").replace(",", ";").split(";")]
        values["tags"] = sorted({t for t in tags if t and len(t) <= partners.TAG_MAX})
    if get("contact_email") or get("contact_name"):
        values["contact_name"] = get("contact_name") or get("contact_email")
        values["contact_title"] = get("contact_title")[:200] or None
        values["contact_phone"] = get("contact_phone")[:50] or None
        if get("contact_email"):
            values["contact_email"] = partners.clean_email(get("contact_email"), errors,
                                                           "contact_email")
    labels = {"email": "bad partner email", "contact_email": "bad contact email",
              "website": "bad website"}
    for key, message in errors.items():
        check.problems.append(f"{labels.get(key, key)}: {message}")
    check.values = values
    return check


def _chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _existing_partners(keys: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Existing partners by (name_key, country), in chunks of bulk SELECTs."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    names = sorted({k for k, _ in keys})
    columns = [Partner.id, Partner.name_key, Partner.country, Partner.version,
               Partner.sensitivity, *(getattr(Partner, c) for c in UPDATABLE)]
    for chunk in _chunks(names):
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
    for chunk in _chunks(sorted(emails)):
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
    for chunk in _chunks(sorted(ids)):
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
        rows.append(_clean_row(n + 2, raw))
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
    for chunk in _chunks(checked.rows):
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
