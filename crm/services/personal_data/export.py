"""A person's data as one JSON document: a contact (people at partners) or a user account.

Everything held about the person, and nothing about anyone else beyond what is needed:
another contact present at one of their meetings appears only as "another contact", staff
only as a count. The audit events about them carry their personal values resolved from
`audit_values` (None once erased). Each document costs a fixed number of queries, whatever
the amount of data (batch loads, no per-row query).

`export_contact` / `export_user` check the actor (admins only) and audit the export in the
caller's transaction, like the CSV exports (crm.services.exports).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, func, or_, select

from crm.extensions import db
from crm.lib import timeutil
from crm.models import (
    Agreement,
    ApiToken,
    AuditEvent,
    Contact,
    FollowUp,
    Interaction,
    Partner,
    User,
    agreement_contacts,
    agreement_staff,
    interaction_contacts,
    interaction_staff,
)
from crm.services import access, audit

from . import erasure

#: how another person present is named in a person's export
ANOTHER_CONTACT = "another contact"
#: user columns never exported: credentials, not data about the person
USER_SECRETS = frozenset({"password_hash", "totp_secret", "recovery_codes", "session_version"})
FORMAT = "json"


def _value(value: Any) -> Any:
    """JSON-ready: times ISO 8601 with their offset, dates ISO."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _columns(obj: Any, leave_out: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every column of `obj` (so a column added later is exported without a change here)."""
    return {c.key: _value(getattr(obj, c.key)) for c in obj.__table__.columns
            if c.key not in leave_out}


def _events(events: list[AuditEvent], *, with_values: bool = True) -> list[dict[str, Any]]:
    """Audit events with personal references resolved (one query for all of them)."""
    values = audit.resolve(events) if with_values else {}

    def side(value: Any) -> Any:
        return values.get(value[audit.REF]) if audit.is_ref(value) else value

    out = []
    for e in events:
        item = {"id": e.id, "at": _value(e.at), "action": e.action,
                "object_type": e.object_type, "object_id": e.object_id}
        if with_values:
            item["changes"] = {k: [side(v) for v in pair] if isinstance(pair, list) else pair
                               for k, pair in (e.changes or {}).items()} or None
            item["details"] = audit.substitute(e.details, values)
        out.append(item)
    return out


def _agreements(link: Any, column: Any, person_id: int) -> list[dict[str, Any]]:
    """The agreements a person signed (`link`: the agreement's contacts or staff table)."""
    rows = db.session.execute(
        select(Agreement.id, Agreement.kind, Agreement.title, Agreement.status,
               Agreement.signed_on, Agreement.starts_on, Agreement.expires_on,
               Agreement.partner_id, Partner.name)
        .join(Partner, Partner.id == Agreement.partner_id)
        .join(link, link.c.agreement_id == Agreement.id)
        .where(column == person_id).order_by(Agreement.id)).all()
    return [{"id": i, "kind": kind, "title": title, "status": status,
             "signed_on": _value(signed), "starts_on": _value(starts),
             "expires_on": _value(expires), "partner_id": pid, "partner_name": pname}
            for i, kind, title, status, signed, starts, expires, pid, pname in rows]


def contact_document(contact: Contact) -> dict[str, Any]:
    """Everything held about `contact` (no visibility check: the caller is an admin)."""
    partner_name = db.session.scalar(select(Partner.name).where(Partner.id == contact.partner_id))
    record = _columns(contact)
    record["partner_name"] = partner_name

    attended = db.session.execute(
        select(Interaction, Partner.name)
        .join(Partner, Partner.id == Interaction.partner_id)
        .join(interaction_contacts, interaction_contacts.c.interaction_id == Interaction.id)
        .where(interaction_contacts.c.contact_id == contact.id)
        .order_by(Interaction.occurred_at, Interaction.id)).all()
    ids = [it.id for it, _ in attended]
    others: dict[int, int] = {}
    staff: dict[int, int] = {}
    if ids:
        others = dict(db.session.execute(
            select(interaction_contacts.c.interaction_id, func.count())
            .where(interaction_contacts.c.interaction_id.in_(ids),
                   interaction_contacts.c.contact_id != contact.id)
            .group_by(interaction_contacts.c.interaction_id)).all())
        staff = dict(db.session.execute(
            select(interaction_staff.c.interaction_id, func.count())
            .where(interaction_staff.c.interaction_id.in_(ids))
            .group_by(interaction_staff.c.interaction_id)).all())
    interactions = [{
        "id": it.id, "occurred_at": _value(it.occurred_at), "kind": it.kind,
        "partner_id": it.partner_id, "partner_name": name, "summary": it.summary,
        "outcome": it.outcome, "sensitivity": it.sensitivity,
        "other_attendees": [ANOTHER_CONTACT] * others.get(it.id, 0),
        "staff_present": staff.get(it.id, 0),
    } for it, name in attended]

    terms = erasure.terms_of(contact)
    where = [FollowUp.interaction_id.in_(ids)] if ids else []
    where += [FollowUp.title.icontains(t, autoescape=True) for t in terms]
    follow_ups = []
    if where:
        rows = db.session.execute(
            select(FollowUp, Partner.name).join(Partner, Partner.id == FollowUp.partner_id)
            .where(or_(*where)).order_by(FollowUp.due_at, FollowUp.id)).all()
        follow_ups = [{
            "id": fu.id, "title": fu.title, "partner_id": fu.partner_id,
            "partner_name": name, "interaction_id": fu.interaction_id,
            "due_at": _value(fu.due_at), "status": fu.status,
            "completed_at": _value(fu.completed_at), "created_at": _value(fu.created_at),
            "why": "from a meeting they attended" if fu.interaction_id in ids
            else "its title mentions them",
        } for fu, name in rows
            if fu.interaction_id in ids or erasure.matches(fu.title, terms)]

    events = list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "contact",
                                 AuditEvent.object_id == str(contact.id))
        .order_by(AuditEvent.at, AuditEvent.id)))
    return {
        "kind": "contact",
        "generated_at": _value(timeutil.now_utc()),
        "contact": record,
        "interactions": interactions,
        "follow_ups": follow_ups,
        "agreements_signed": _agreements(agreement_contacts, agreement_contacts.c.contact_id,
                                         contact.id),
        "audit_events": _events(events),
    }


def user_document(user: User) -> dict[str, Any]:
    """Everything held about a user account, without its credentials."""
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    attended = exists().where(interaction_staff.c.interaction_id == Interaction.id,
                              interaction_staff.c.user_id == user.id)
    interactions = db.session.execute(
        select(Interaction.id, Interaction.occurred_at, Interaction.kind,
               Interaction.partner_id, Partner.name, Interaction.logged_by_id, attended)
        .join(Partner, Partner.id == Interaction.partner_id)
        .where(or_(Interaction.logged_by_id == user.id, attended))
        .order_by(Interaction.occurred_at, Interaction.id)).all()
    follow_ups = db.session.execute(
        select(FollowUp.id, FollowUp.due_at, FollowUp.status, FollowUp.completed_at,
               FollowUp.partner_id, Partner.name)
        .join(Partner, Partner.id == FollowUp.partner_id)
        .where(FollowUp.assignee_id == user.id).order_by(FollowUp.due_at, FollowUp.id)).all()
    about = (AuditEvent.object_type == "user") & (AuditEvent.object_id == str(user.id))
    events = list(db.session.scalars(
        select(AuditEvent).where(or_(AuditEvent.actor_id == user.id, about))
        .order_by(AuditEvent.at, AuditEvent.id)))
    mine = [e for e in events if e.object_type == "user" and e.object_id == str(user.id)]
    by_them = [e for e in events if e not in mine]
    return {
        "kind": "user",
        "generated_at": _value(timeutil.now_utc()),
        "user": _columns(user, USER_SECRETS),
        "api_tokens": [{"id": t.id, "name": t.name, "created_at": _value(t.created_at),
                        "last_used_at": _value(t.last_used_at),
                        "expires_at": _value(t.expires_at),
                        "revoked_at": _value(t.revoked_at)} for t in tokens],
        "interactions": [{"id": i, "occurred_at": _value(at), "kind": kind,
                          "partner_id": pid, "partner_name": pname,
                          "logged_by_them": logger == user.id, "attended": bool(went)}
                         for i, at, kind, pid, pname, logger, went in interactions],
        "follow_ups_assigned": [{"id": i, "due_at": _value(due), "status": status,
                                 "completed_at": _value(done), "partner_id": pid,
                                 "partner_name": pname}
                                for i, due, status, done, pid, pname in follow_ups],
        "agreements_signed": _agreements(agreement_staff, agreement_staff.c.user_id, user.id),
        # events about the account in full; what they did elsewhere as the fact only (the
        # values of others' records are not theirs)
        "audit_events_about_them": _events(mine),
        "audit_events_by_them": _events(by_them, with_values=False),
    }


def _ensure_admin(actor: User) -> None:
    if actor is None or not actor.is_active or actor.role != "admin":
        raise access.Forbidden("admins only",
                               message="Only an administrator can export personal data.")


def export_contact(actor: User, contact: Contact) -> dict[str, Any]:
    """`contact_document`, for an admin, audited as an export in the caller's transaction."""
    _ensure_admin(actor)
    document = contact_document(contact)
    audit.record("contact.export_personal_data", actor=actor, object_type="contact",
                 object_id=contact.id, details={"format": FORMAT,
                                                "interactions": len(document["interactions"]),
                                                "audit_events": len(document["audit_events"])})
    return document


def export_user(actor: User, user: User) -> dict[str, Any]:
    """`user_document`, for an admin, audited as an export in the caller's transaction."""
    _ensure_admin(actor)
    document = user_document(user)
    audit.record("user.export_personal_data", actor=actor, object_type="user",
                 object_id=user.id, details={"format": FORMAT})
    return document
