"""CSV import of agreements (issue 15), on the partner import's machinery: the same upload,
mapping, preview, progress and results pages (`ImportJob.kind == "agreements"`), the same
one-transaction rule (a file is imported entirely or not at all) and the same idempotency:
an agreement matches an existing one at the same partner with the same kind and title
(case-insensitive), so re-importing a file creates nothing and changes nothing, and a
changed cell updates that field (version bumped, audited old → new).

Rows are checked by the agreements service's own rules (`agreements.validation_errors`)
and written through `agreements.create` / `agreements.update`, so an imported agreement
obeys the web form's rules and is audited like one. Agreements are a few hundred, not
100,000 partners: each row is one service call, and the matching is a fixed number of
SELECTs per file. A row naming a partner or agreement the importer may not see is refused
with the partner import's neutral words (`WITHHELD`): the preview is no oracle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from crm.extensions import db
from crm.lib.text import name_key
from crm.models import Agreement, Partner, User
from crm.models.enums import AGREEMENT_KIND_LABELS, AGREEMENT_KINDS

from .. import access, agreements
from ..errors import ValidationError
from . import mapping as mapping_module
from .mapping import norm_header
from .preview import WITHHELD, _existing_partners, _visible_ids
from .rows import country_code
from .writers import Outcome

#: target field → (label, header names that map to it automatically)
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "partner_id": ("Partner id", ("partner id",)),
    "partner": ("Partner name", ("partner", "partner name", "organisation", "organization",
                                 "company")),
    "country": ("Partner country", ("country", "country code", "partner country")),
    "kind": ("Kind", ("kind", "type", "agreement kind")),
    "title": ("Title", ("title", "agreement", "agreement title")),
    "status": ("Status", ("status",)),
    "signed_on": ("Signed on", ("signed", "signed on", "date signed")),
    "starts_on": ("Starts on", ("starts", "starts on", "start date")),
    "expires_on": ("Expires on", ("expires", "expires on", "expiry", "expiry date")),
    "renewal_notice_days": ("Renewal notice (days)", ("renewal notice", "notice days")),
    "reporting_every_months": ("Reporting every (months)", ("reporting every months",
                                                            "reporting interval")),
    "sensitivity": ("Sensitivity", ("sensitivity",)),
    "document_ref": ("Document reference", ("document", "document ref",
                                            "document reference")),
    "notes": ("Notes", ("notes",)),
}
REQUIRED_FIELDS = ("kind", "title")
#: the fields handed to the agreements service (the others find the partner)
VALUE_FIELDS = tuple(f for f in FIELDS if f not in ("partner_id", "partner", "country"))
_KIND_WORDS = {norm_header(k): k for k in AGREEMENT_KINDS} | {
    norm_header(v): k for k, v in AGREEMENT_KIND_LABELS.items()}


def auto_mapping(header: Sequence[str]) -> dict[str, str]:
    """{field: column header} guessed from the header names (each column used once)."""
    return mapping_module.auto_mapping(header, FIELDS)


def clean_mapping(header: Sequence[str], mapping: dict[str, str]) -> dict[str, str]:
    """Known fields mapped to existing columns; kind, title and the partner (its id, or its
    name and country) must be there."""
    clean = {f: c for f, c in mapping.items() if f in FIELDS and c and c in header}
    missing = [FIELDS[f][0] for f in REQUIRED_FIELDS if f not in clean]
    if "partner_id" not in clean and not ("partner" in clean and "country" in clean):
        missing.append("Partner id (or Partner name and Partner country)")
    if missing:
        raise ValidationError({"mapping": "Choose the column holding: " + ", ".join(missing)})
    return clean


@dataclass
class AgreementRow:
    """One row of the file, checked: what the partner import's pages and Outcome read."""

    line: int
    name: str  #: the title, as the results list names the row
    values: dict[str, str]
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)
    partner_id: int | None = None
    agreement_id: int | None = None
    same_as_line: int | None = None
    #: for an existing agreement: the fields the file changes
    changes: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class AgreementsChecked:
    rows: list[AgreementRow]

    @property
    def problem_rows(self) -> list[AgreementRow]:
        return [r for r in self.rows if r.problems]

    def summary(self) -> dict[str, int]:
        ok = [r for r in self.rows if r.ok and r.same_as_line is None]
        return {"rows": len(self.rows), "problems": len(self.rows) - len([
            r for r in self.rows if r.ok]),
                "new_agreements": sum(r.agreement_id is None for r in ok),
                "changed_agreements": sum(bool(r.agreement_id and r.changes) for r in ok),
                "unchanged_agreements": sum(bool(r.agreement_id and not r.changes)
                                            for r in ok)}


def _clean(line: int, raw: dict[str, str]) -> AgreementRow:
    values = {k: (v or "").strip() for k, v in raw.items()}
    row = AgreementRow(line, values.get("title", ""), values)
    kind = values.get("kind", "")
    if kind:
        code = _KIND_WORDS.get(norm_header(kind))
        if code is None:
            row.problems.append(f"unknown kind {kind!r}")
        else:
            values["kind"] = code
    if values.get("partner_id"):
        try:
            row.partner_id = int(values["partner_id"])
            if not 1 <= row.partner_id <= 2**31 - 1:
                raise ValueError
        except ValueError:
            row.problems.append("partner id is not a number")
            row.partner_id = None
    elif values.get("partner") and values.get("country"):
        code = country_code(values["country"])
        if code is None:
            row.problems.append(f"unknown country {values['country']!r}")
        else:
            values["country"] = code
    else:
        row.problems.append("no partner: give its id, or its name and country")
    return row


def _data(row: AgreementRow) -> dict[str, str]:
    """The values handed to the service: the cells given (an empty cell changes nothing)."""
    return {k: row.values[k] for k in VALUE_FIELDS if row.values.get(k)}


def _differs(agreement: Agreement, key: str, value: str) -> bool:
    current = getattr(agreement, key)
    if current is None:
        return True
    if hasattr(current, "isoformat"):
        return current.isoformat() != value
    return str(current) != value


def check_rows(header: Sequence[str], table: Sequence[Sequence[str]], mapping: dict[str, str],
               user: User | None = None,
               progress: Callable[[int], None] | None = None) -> AgreementsChecked:
    """Validate and match every row: a fixed number of SELECTs for the whole file."""
    index = {col: i for i, col in enumerate(header)}
    rows = []
    for n, cells in enumerate(table):
        raw = {f: cells[index[c]] if index[c] < len(cells) else "" for f, c in mapping.items()}
        rows.append(_clean(n + 2, raw))
    if progress:
        progress(len(rows))
    # the partners: by id, or by name and country (the partner import's own matching)
    keys = {(name_key(r.values["partner"]), r.values["country"]) for r in rows
            if r.ok and r.partner_id is None}
    by_key = _existing_partners(keys)
    for r in rows:
        if r.ok and r.partner_id is None:
            match = by_key.get((name_key(r.values["partner"]), r.values["country"]))
            if match is None:
                r.problems.append("no partner with this name and country: import it first")
            else:
                r.partner_id = match["id"]
    ids = {r.partner_id for r in rows if r.ok and r.partner_id}
    partners = {p.id: p for p in db.session.scalars(select(Partner).where(
        Partner.id.in_(ids)))} if ids else {}
    visible = _visible_ids(user, set(partners))
    existing: dict[tuple[int, str, str], Agreement] = {}
    if partners:
        for a in db.session.scalars(select(Agreement).where(
                Agreement.partner_id.in_(list(partners))).order_by(Agreement.id)):
            existing.setdefault((a.partner_id, a.kind, a.title.casefold()), a)
    seen_agreements = {a.id for a in existing.values()}
    if user is not None and seen_agreements:
        seen_agreements = set(db.session.scalars(access.visible_agreements(
            user, select(Agreement.id)).where(Agreement.id.in_(seen_agreements))))
    first_line: dict[tuple[int, str, str], int] = {}
    for r in rows:
        if not r.ok:
            continue
        partner = partners.get(r.partner_id)
        if partner is None:
            r.problems.append("no partner with this id")
            continue
        if partner.id not in visible:
            r.problems.append(WITHHELD)
            r.withheld.append(f"partner #{partner.id} ({partner.sensitivity}) is not "
                              "visible to the importer")
            continue
        key = (partner.id, r.values.get("kind", ""), r.values.get("title", "").casefold())
        if key in first_line:
            r.same_as_line = first_line[key]
            r.notes.append(f"same agreement as line {first_line[key]}: skipped")
            continue
        first_line[key] = r.line
        match = existing.get(key)
        if match is not None and match.id not in seen_agreements:
            r.problems.append(WITHHELD)
            r.withheld.append(f"agreement #{match.id} ({match.sensitivity}) is not visible "
                              "to the importer")
            continue
        data = _data(r)
        if match is not None:
            r.agreement_id = match.id
            r.changes = {k: v for k, v in data.items() if _differs(match, k, v)}
            errors = (agreements.validation_errors(user, partner, r.changes, agreement=match)
                      if r.changes and user is not None else {})
            r.notes.append(f"existing agreement #{match.id}: "
                           + (f"{', '.join(r.changes)} updated" if r.changes
                              else "unchanged"))
        else:
            errors = (agreements.validation_errors(user, partner, _defaults(partner, data))
                      if user is not None else {})
        r.problems.extend(f"{FIELDS.get(k, (k,))[0]}: {m}" for k, m in errors.items())
    return AgreementsChecked(rows)


def _defaults(partner: Partner, data: dict[str, str]) -> dict[str, Any]:
    """What `agreements.create` would fill in, so the preview checks the same values."""
    out: dict[str, Any] = dict(data)
    out.setdefault("status", "draft")
    out.setdefault("sensitivity", agreements.default_sensitivity(partner, out.get("kind")))
    if out.get("kind") == "the_code":
        out.setdefault("reporting_every_months", agreements.CODE_REPORTING_MONTHS)
    return out


def run_import(checked: AgreementsChecked, *, actor_id: int | None, job_id: int | None = None,
               progress: Callable[[int], None] | None = None) -> Outcome:
    """Create or update each checked row through the agreements service (validated and
    audited there). Flushes only: the caller commits the whole file at once."""
    out = Outcome()
    actor = db.session.get(User, actor_id) if actor_id else None
    if actor is None:
        raise ValidationError({"file": "An agreements import needs the person who runs it."})
    partners = {p.id: p for p in db.session.scalars(select(Partner).where(
        Partner.id.in_({r.partner_id for r in checked.rows if r.ok and r.partner_id})))}
    current = {a.id: a for a in db.session.scalars(select(Agreement).where(
        Agreement.id.in_({r.agreement_id for r in checked.rows if r.agreement_id})))}
    for done, r in enumerate(checked.rows, start=1):
        if not r.ok:
            out.add(r, "failed", "; ".join(r.problems))
        elif r.same_as_line is not None:
            out.add(r, "skipped", f"same agreement as line {r.same_as_line}")
        elif r.agreement_id is not None and not r.changes:
            out.add(r, "skipped", "unchanged")
        elif r.agreement_id is not None:
            agreements.update(actor, current[r.agreement_id], r.changes)
            out.add(r, "updated", ", ".join(r.changes))
        else:
            agreements.create(actor, partners[r.partner_id], _data(r))
            out.add(r, "created")
        if progress and done % 50 == 0:
            progress(done)
    db.session.flush()
    if progress:
        progress(len(checked.rows))
    return out

