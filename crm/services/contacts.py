"""Contacts: people at a partner. Validated here; only the keys in FIELDS are read.

A contact may be more sensitive than its partner, never less; one email per partner
(case-insensitive, backed by the unique index uq_contacts_partner_email). On
ValidationError the caller rolls back.

The email rule must not reveal a contact the user cannot see (a confidential contact at a
partner they can see): the clash is still refused (the index allows no duplicate, and a
silent second record would split the person's history), but with EMAIL_WITHHELD, which
names no contact and says nothing exists. An administrator, who sees every contact, gets
the plain reason.

Do-not-contact and the lawful basis (why the network may hold the person's data: one of
LAWFUL_BASES, a note, the date it was recorded, never in the future) are fields like the
others. An erased contact (crm.services.personal_data.erasure) can no longer be changed:
`update_contact` raises ConflictError (web: redirect with a message; API: 409).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import pycountry
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from crm.extensions import db
from crm.lib import timeutil
from crm.models import Contact, FollowUp, Interaction, Partner, User, interaction_contacts
from crm.models.enums import LAWFUL_BASES

from . import access, audit, records
from .errors import ConflictError, ValidationError
from .validation import check_sensitivity_floor, clean_email, clean_text, collect

FIELDS = ("name", "title", "email", "phone", "language", "notes", "sensitivity",
          "do_not_contact", "lawful_basis", "lawful_basis_note", "lawful_basis_on")
LAWFUL_BASIS_NOTE_MAX = 2_000
#: the refusal of any change to an erased contact (the web flashes it, the API answers 409)
ERASED_REFUSAL = ("This contact was erased: its personal data is gone and it cannot be "
                  "edited any more.")
EMAIL_TAKEN = "Another contact at this partner already has this email."
#: the refusal when the clash is with a contact the user cannot see (or a concurrent insert)
EMAIL_WITHHELD = "This email cannot be used for a contact here; ask an administrator."
_PHONE = re.compile(r"^\+?[\d\s().\-/]{3,}(\s*(ext\.?|x)\s*\d+)?$", re.IGNORECASE)


def language_choices() -> list[tuple[str, str]]:
    """(ISO 639-1 code, name) for the languages that have a two-letter code."""
    return sorted(((lang.alpha_2, lang.name) for lang in pycountry.languages
                   if hasattr(lang, "alpha_2")), key=lambda c: c[1])


def language_name(code: str | None) -> str | None:
    """"Spanish" for "es"; the code itself when pycountry does not know it; None for none."""
    if not code:
        return None
    lang = pycountry.languages.get(alpha_2=code)
    return lang.name if lang is not None else code


def _email_clash(actor: User, partner: Partner, email: str,
                 contact_id: int | None) -> str | None:
    """The refusal for `email` at `partner`, or None: plain when the actor can see the
    contact holding it, neutral (EMAIL_WITHHELD) when they cannot."""
    stmt = select(Contact.id).where(Contact.partner_id == partner.id,
                                    func.lower(Contact.email) == email.lower())
    if contact_id is not None:
        stmt = stmt.where(Contact.id != contact_id)
    holders = list(db.session.scalars(stmt))
    if not holders:
        return None
    seen = db.session.scalar(access.visible_contacts(actor, select(Contact.id))
                             .where(Contact.id.in_(holders)).limit(1))
    return EMAIL_TAKEN if seen is not None else EMAIL_WITHHELD


def _validate(actor: User, partner: Partner, data: dict, partial: bool,
              contact_id: int | None = None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    keys = [k for k in FIELDS if k in data]
    if not partial:
        keys = list(dict.fromkeys(["name", *keys]))
    for key in keys:
        value = data.get(key)
        if key == "name":
            out[key] = clean_text(value, 200, key, errors, required=True)
        elif key == "title":
            out[key] = clean_text(value, 200, key, errors)
        elif key == "email":
            out[key] = clean_email(value, errors)
        elif key == "phone":
            phone = clean_text(value, 50, key, errors)
            if phone and key not in errors and not _PHONE.match(phone):
                errors[key] = "Enter a phone number such as +66 2 123 4567."
            out[key] = phone
        elif key == "language":
            code = (str(value or "").strip().lower()) or None
            if code and pycountry.languages.get(alpha_2=code) is None:
                errors[key] = "Choose a language from the list."
            out[key] = code
        elif key == "notes":
            out[key] = clean_text(value, 10_000, key, errors)
        elif key == "do_not_contact":
            if not isinstance(value, bool):
                errors[key] = "Tick the box or leave it empty."
            out[key] = bool(value) if isinstance(value, bool) else False
        elif key == "lawful_basis":
            code = value.strip() if isinstance(value, str) else value
            if code not in (None, "") and code not in LAWFUL_BASES:
                errors[key] = "Choose a lawful basis from the list, or none."
            out[key] = code or None
        elif key == "lawful_basis_note":
            out[key] = clean_text(value, LAWFUL_BASIS_NOTE_MAX, key, errors)
        elif key == "lawful_basis_on":
            out[key] = _basis_date(value, actor, key, errors)
        elif key == "sensitivity":
            collect(errors, check_sensitivity_floor, value, partner.sensitivity, "A contact",
                    key)
            out[key] = value
    if out.get("email") and "email" not in errors:
        clash = _email_clash(actor, partner, out["email"], contact_id)
        if clash:
            errors["email"] = clash
    if errors:
        raise ValidationError(errors)
    return out


def _basis_date(value: Any, actor: User, field: str, errors: dict[str, str]) -> date | None:
    """The date the lawful basis was recorded: a date (or YYYY-MM-DD), not after today in
    the actor's time zone, not before 1900; blank is None."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime) or not isinstance(value, date | str):
        errors[field] = "Enter a date as YYYY-MM-DD."
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            errors[field] = "Enter a date as YYYY-MM-DD."
            return None
    today = timeutil.local_date(timeutil.now_utc(), getattr(actor, "timezone", None))
    if value > today:
        errors[field] = "The date cannot be in the future."
    elif value.year < 1900:
        errors[field] = "Enter a date after 1900."
    return value


def _snapshot(contact: Contact) -> dict[str, Any]:
    return {k: getattr(contact, k) for k in FIELDS}


def _flush(contact: Contact) -> None:
    """Flush; a concurrent insert of the same email loses at the unique index, not with a 500
    (neutral words: the winner may be a contact this user cannot see)."""
    try:
        db.session.flush()
    except IntegrityError:
        raise ValidationError({"email": EMAIL_WITHHELD}) from None


def _ensure_still_visible(actor: User, contact: Contact) -> None:
    _flush(contact)
    stmt = access.visible_contacts(actor, select(Contact.id)).where(Contact.id == contact.id)
    if db.session.scalar(stmt) is None:
        raise ValidationError({"sensitivity": "With this sensitivity you could no longer see "
                                              "this contact; choose a lower one."})


def create_contact(actor: User, partner: Partner, data: dict) -> Contact:
    """Add a contact at `partner` (sensitivity defaults to the partner's); audit; flush."""
    access.ensure_can_write(actor)
    data = dict(data)
    if not data.get("sensitivity"):
        data["sensitivity"] = partner.sensitivity
    values = _validate(actor, partner, data, partial=False)
    contact = Contact(partner_id=partner.id, archived=False, version=1, **values)
    db.session.add(contact)
    _ensure_still_visible(actor, contact)
    audit.record("contact.create", actor=actor, object_type="contact", object_id=contact.id,
                 changes=audit.diff({}, _snapshot(contact)),
                 details={"partner_id": partner.id})
    return contact


def update_contact(actor: User, contact: Contact, data: dict) -> Contact:
    """Change the keys present in `data`; bump version when something changed; audit.

    An erased contact raises ConflictError(ERASED_REFUSAL) before anything is read."""
    access.ensure_can_write(actor)
    if contact.erased_at is not None:
        raise ConflictError(ERASED_REFUSAL)
    partner = db.session.get(Partner, contact.partner_id)
    values = _validate(actor, partner, data, partial=True, contact_id=contact.id)

    def apply() -> None:
        for key, value in values.items():
            setattr(contact, key, value)

    def still_visible(changes: dict[str, list]) -> None:
        if "sensitivity" in changes:
            access.ensure_may_lower(actor, partner, *changes["sensitivity"])
            _ensure_still_visible(actor, contact)

    records.update_audited(actor, contact, "contact.update", object_type="contact",
                           snapshot=lambda: _snapshot(contact), apply=apply,
                           effects=still_visible, details={"partner_id": contact.partner_id},
                           sensitivity_event=True, flush=lambda: _flush(contact))
    return contact


# --- the contact page ------------------------------------------------------------------

#: open follow-ups listed on a contact page, soonest due first
PAGE_FOLLOW_UPS = 50


def _attended(actor: User, contact: Contact, stmt: Select | None = None) -> Select:
    """`stmt` (default: the interactions) over the interactions `contact` attended that
    `actor` may read."""
    return (access.visible_interactions(actor, stmt)
            .join(interaction_contacts, interaction_contacts.c.interaction_id == Interaction.id)
            .where(interaction_contacts.c.contact_id == contact.id))


def attended_interactions(actor: User, contact: Contact) -> Select:
    """The interactions `contact` attended that `actor` may read, newest first (the caller
    paginates), each with the colleague who logged it."""
    return (_attended(actor, contact).options(joinedload(Interaction.logged_by))
            .order_by(Interaction.occurred_at.desc(), Interaction.id.desc()))


def open_follow_ups(actor: User, contact: Contact,
                    limit: int = PAGE_FOLLOW_UPS) -> list[FollowUp]:
    """The open follow-ups, soonest due first, that came from interactions `contact`
    attended, as far as `actor` may read both. One statement."""
    stmt = (access.visible_follow_ups(actor)
            .where(FollowUp.status == "open",
                   # uncorrelated: both statements join Partner, each its own
                   FollowUp.interaction_id.in_(
                       _attended(actor, contact, select(Interaction.id)).correlate(None)))
            .options(joinedload(FollowUp.assignee))
            .order_by(FollowUp.due_at, FollowUp.id).limit(limit))
    return list(db.session.scalars(stmt).unique())
