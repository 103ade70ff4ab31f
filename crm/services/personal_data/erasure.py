"""Erase a contact on request, and find and redact the free text that still names them.

`erase_contact` turns the person into "Erased contact #<id>" (links to interactions and
agreements kept, so counts and reports stay right), scrubs every audit value recorded about
them (the audit events keep the fact: who changed which field when) and the other places
that kept a copy of their name, email or phone: the API's 24-hour replay cache (deleted),
import jobs and the email ledger (the text replaced by "[erased]"). `find_mentions` lists
interaction summaries/outcomes, follow-up titles and agreement titles/notes naming them;
`redact` replaces the name in one field and scrubs that field's older audit values.

Everything runs in the caller's transaction and only flushes (crm/uow.py commits once per
request): a crash part-way leaves the person untouched. Admins only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, cast, delete, or_, select, update

from crm.extensions import db
from crm.lib import timeutil
from crm.models import (
    Agreement,
    AuditValue,
    Contact,
    Delivery,
    FollowUp,
    IdempotencyKey,
    ImportJob,
    Interaction,
    Partner,
    User,
)
from crm.services import access, audit
from crm.services.errors import ValidationError

#: a name shorter than this is not searched for (it would match everywhere)
MIN_NAME = 3
#: a phone number shorter than this is not searched for
MIN_PHONE = 6
REDACTED = "[redacted]"
ERASED = "[erased]"
#: object type -> (model, the free-text fields that may name a person)
REDACTABLE: dict[str, tuple[type, tuple[str, ...]]] = {
    "interaction": (Interaction, ("summary", "outcome")),
    "follow_up": (FollowUp, ("title",)),
    "agreement": (Agreement, ("title", "notes")),
}
#: the longest text each redactable field holds
_LIMITS = {("follow_up", "title"): 300, ("agreement", "title"): 300}


def erased_name(contact_id: int) -> str:
    return f"Erased contact #{contact_id}"


def confirms(typed: str | None, name: str) -> bool:
    """The typed confirmation is the contact's name (case and spacing aside)."""
    typed = " ".join((typed or "").split()).casefold()
    return bool(typed) and typed == " ".join(name.split()).casefold()


def ensure_admin(actor: User) -> None:
    if actor is None or not actor.is_active or actor.role != "admin":
        raise access.Forbidden("admins only",
                               message="Only an administrator can erase or redact personal data.")


# --- terms: what names a person in free text ------------------------------------------

def terms_of(contact: Contact) -> list[str]:
    """The strings that identify `contact` in text: name (3+ characters), email, phone."""
    if contact.erased_at is not None:
        return []
    terms = []
    name = " ".join((contact.name or "").split())
    if len(name) >= MIN_NAME:
        terms.append(name)
    if contact.email:
        terms.append(contact.email.strip())
    phone = (contact.phone or "").strip()
    if len(phone) >= MIN_PHONE:
        terms.append(phone)
    return list(dict.fromkeys(t for t in terms if t))


def pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    """Case-insensitive, each term as a whole phrase (not inside a longer word); any run of
    white space in a term matches any run of white space in the text."""
    parts = [r"\s+".join(re.escape(w) for w in t.split()) for t in terms if t.strip()]
    if not parts:
        return None
    parts.sort(key=len, reverse=True)  # the longest first: "Ann Lee" before "Ann"
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def matches(text: str | None, terms: Sequence[str]) -> bool:
    found = pattern(terms)
    return bool(text and found and found.search(text))


def replace(text: str | None, terms: Sequence[str], by: str) -> tuple[str | None, int]:
    """(`text` with each term replaced by `by`, how many were replaced)."""
    found = pattern(terms)
    if not text or found is None:
        return text, 0
    return found.subn(by, text)


def _any_contains(column: Any, terms: Sequence[str]) -> Any:
    """SQL pre-filter: `column` contains one of `terms` (case-insensitive); the regex decides."""
    return or_(*(column.icontains(t, autoescape=True) for t in terms))


# --- mentions ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Mention:
    """One free-text field that names the person."""

    object_type: str  #: interaction or follow_up
    object_id: int
    field: str
    text: str
    partner_id: int
    partner_name: str
    at: Any = None  #: the interaction's date or the follow-up's due date

    @property
    def key(self) -> str:
        """How a form names it: `interaction:12:summary`."""
        return f"{self.object_type}:{self.object_id}:{self.field}"


def find_mentions(contact: Contact) -> list[Mention]:
    """Interaction summaries/outcomes, follow-up titles and agreement titles/notes naming
    `contact` (by name, email or phone, case-insensitive), across every record: three
    queries."""
    terms = terms_of(contact)
    if not terms:
        return []
    found: list[Mention] = []
    rows = db.session.execute(
        select(Interaction.id, Interaction.summary, Interaction.outcome, Interaction.occurred_at,
               Partner.id, Partner.name)
        .join(Partner, Partner.id == Interaction.partner_id)
        .where(or_(_any_contains(Interaction.summary, terms),
                   _any_contains(Interaction.outcome, terms)))
        .order_by(Interaction.occurred_at.desc(), Interaction.id)).all()
    for iid, summary, outcome, at, pid, pname in rows:
        for name, text in (("summary", summary), ("outcome", outcome)):
            if matches(text, terms):
                found.append(Mention("interaction", iid, name, text, pid, pname, at))
    rows = db.session.execute(
        select(FollowUp.id, FollowUp.title, FollowUp.due_at, Partner.id, Partner.name)
        .join(Partner, Partner.id == FollowUp.partner_id)
        .where(_any_contains(FollowUp.title, terms))
        .order_by(FollowUp.due_at.desc(), FollowUp.id)).all()
    for fid, title, due, pid, pname in rows:
        if matches(title, terms):
            found.append(Mention("follow_up", fid, "title", title, pid, pname, due))
    rows = db.session.execute(
        select(Agreement.id, Agreement.title, Agreement.notes, Agreement.created_at,
               Partner.id, Partner.name)
        .join(Partner, Partner.id == Agreement.partner_id)
        .where(or_(_any_contains(Agreement.title, terms), _any_contains(Agreement.notes, terms)))
        .order_by(Agreement.created_at.desc(), Agreement.id)).all()
    for aid, title, notes, at, pid, pname in rows:
        for name, text in (("title", title), ("notes", notes)):
            if matches(text, terms):
                found.append(Mention("agreement", aid, name, text, pid, pname, at))
    return found


def parse_key(key: str) -> tuple[str, int, str] | None:
    """`interaction:12:summary` → ("interaction", 12, "summary"); None when malformed."""
    parts = (key or "").split(":")
    if len(parts) != 3 or parts[0] not in REDACTABLE or parts[2] not in REDACTABLE[parts[0]][1]:
        return None
    if not parts[1].isascii() or not parts[1].isdigit() or not 0 < int(parts[1]) < 2**31:
        return None
    return parts[0], int(parts[1]), parts[2]


# --- scrubbing ---------------------------------------------------------------------------

def _scrub_audit_values(*where: Any) -> int:
    """Set the matching audit values to NULL (the one change the database allows)."""
    result = db.session.execute(
        update(AuditValue).where(*where, AuditValue.value.is_not(None))
        .values(value=None, erased_at=timeutil.now_utc())
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def redact(actor: User, object_type: str, object_id: int, field: str,
           terms: Sequence[str]) -> bool:
    """Replace each of `terms` by "[redacted]" in one field; True when something changed.

    The record's version moves, the older audit values of that field are scrubbed (they
    named the person too), and the redaction is audited without any text.
    """
    ensure_admin(actor)
    model, fields = REDACTABLE.get(object_type, (None, ()))
    if model is None or field not in fields:
        raise ValidationError({"mention": "Nothing of that kind can be redacted."})
    record = db.session.get(model, object_id)
    if record is None:
        raise access.NotVisible(object_type)
    # the text as it is now, locked until the commit: a concurrent edit is not overwritten
    db.session.refresh(record, [field, "version"], with_for_update=True)
    text, count = replace(getattr(record, field), terms, REDACTED)
    if not count:
        return False
    limit = _LIMITS.get((object_type, field))
    setattr(record, field, text[:limit] if limit else text)
    record.version = (record.version or 1) + 1
    db.session.flush()
    scrubbed = _scrub_audit_values(AuditValue.object_type == object_type,
                                   AuditValue.object_id == str(object_id),
                                   AuditValue.field == field)
    audit.record(f"{object_type}.redact", actor=actor, object_type=object_type,
                 object_id=object_id, details={"field": field, "replaced": count,
                                               "audit_values_scrubbed": scrubbed})
    db.session.flush()
    return True


def redact_mentions(actor: User, contact: Contact, keys: Iterable[str] | None = None) -> int:
    """Redact the mentions of `contact` whose keys are in `keys` (all when None); how many
    fields changed. Keys that name no current mention are ignored."""
    terms = terms_of(contact)
    wanted = None if keys is None else set(keys)
    changed = 0
    for mention in find_mentions(contact):
        if wanted is None or mention.key in wanted:
            changed += redact(actor, mention.object_type, mention.object_id, mention.field,
                              terms)
    return changed


def _json_terms(terms: Sequence[str]) -> list[str]:
    """The terms as JSON spells them inside a string (non-ASCII as \\u escapes)."""
    return [json.dumps(t)[1:-1] for t in terms]


def _scrub_json(value: Any, terms: Sequence[str]) -> Any:
    if isinstance(value, str):
        return replace(value, terms, ERASED)[0]
    if isinstance(value, list):
        return [_scrub_json(v, terms) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_json(v, terms) for k, v in value.items()}
    return value


def _scrub_imports(terms: Sequence[str]) -> int:
    escaped = list(dict.fromkeys([*terms, *_json_terms(terms)]))
    jobs = db.session.scalars(select(ImportJob).where(or_(
        _any_contains(ImportJob.content, terms), _any_contains(ImportJob.error, terms),
        _any_contains(cast(ImportJob.results, Text), escaped))))
    changed = 0
    for job in jobs:
        content = replace(job.content, terms, ERASED)[0]
        error = replace(job.error, terms, ERASED)[0]
        results = _scrub_json(job.results, terms)
        if (content, error, results) != (job.content, job.error, job.results):
            job.content, job.error, job.results = content, error, results
            changed += 1
    return changed


def _scrub_deliveries(terms: Sequence[str]) -> int:
    rows = db.session.scalars(select(Delivery).where(or_(
        _any_contains(Delivery.subject, terms), _any_contains(Delivery.last_error, terms),
        _any_contains(Delivery.recipient_email, terms))))
    changed = 0
    for row in rows:
        new = tuple(replace(getattr(row, f), terms, ERASED)[0]
                    for f in ("subject", "last_error", "recipient_email"))
        if new != (row.subject, row.last_error, row.recipient_email):
            row.subject, row.last_error, row.recipient_email = new
            changed += 1
    return changed


def _values_naming(terms: Sequence[str]) -> list[str]:
    """Ids of the audit values whose text names the person (the SQL pre-filter finds
    candidates, the whole-word pattern decides)."""
    found = pattern(terms)
    if found is None:
        return []
    rows = db.session.execute(select(AuditValue.id, AuditValue.value).where(
        AuditValue.value.is_not(None), _any_contains(AuditValue.value, terms)))
    return [row_id for row_id, value in rows if found.search(value)]


def erase_contact(actor: User, contact: Contact, *, redact_keys: Iterable[str] | None = (),
                  ) -> bool:
    """Erase `contact` in the caller's transaction; False when it was already erased.

    `redact_keys`: the mentions (`Mention.key`) to redact first, None for all of them, ()
    for none. Audited as "contact.erase" with counts only, never a value.
    """
    ensure_admin(actor)
    # one erasure of a person at a time: lock the row, then look again (a second admin's
    # erasure waits here and finds the person erased)
    db.session.refresh(contact, ["erased_at", "name", "email", "phone"], with_for_update=True)
    if contact.erased_at is not None:
        return False
    terms = terms_of(contact)
    redacted = redact_mentions(actor, contact, redact_keys) if redact_keys != () else 0
    now = timeutil.now_utc()
    contact.name = erased_name(contact.id)
    for name in ("title", "email", "phone", "language", "notes", "lawful_basis",
                 "lawful_basis_note", "lawful_basis_on"):
        setattr(contact, name, None)
    contact.do_not_contact = True  # they asked to be forgotten
    contact.archived = True
    contact.erased_at = now
    contact.version = (contact.version or 1) + 1
    db.session.flush()
    counts = {"mentions_redacted": redacted,
              "audit_values": _scrub_audit_values(AuditValue.object_type == "contact",
                                                  AuditValue.object_id == str(contact.id))}
    if terms:
        # any other value the trail kept that names them: a search for their name, an old
        # summary or title not redacted in place
        counts["audit_values"] += _scrub_audit_values(
            AuditValue.id.in_(_values_naming(terms)))
        counts["idempotency_keys"] = db.session.execute(
            delete(IdempotencyKey).where(_any_contains(
                IdempotencyKey.body, list(dict.fromkeys([*terms, *_json_terms(terms)]))))
            .execution_options(synchronize_session=False)).rowcount or 0
        counts["import_jobs"] = _scrub_imports(terms)
        counts["deliveries"] = _scrub_deliveries(terms)
    audit.record("contact.erase", actor=actor, object_type="contact", object_id=contact.id,
                 details=counts)
    db.session.flush()
    return True
