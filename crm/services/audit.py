"""The audit trail: append-only events for every change, export, login and refusal.

The audit trail keeps the fact, not the personal data: a change to a personal field
(PERSONAL_FIELDS: a contact's name, email, phone …, an interaction's summary, a follow-up's
title) is stored in the event as a reference ``{"$pv": id}`` to a row of ``audit_values``,
which erasure and redaction scrub (crm.services.personal_data). The events themselves are
never updated or deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.extensions import db
from crm.lib import context
from crm.models import AuditEvent, AuditValue, User

#: object type -> the fields whose values are personal data (kept in audit_values)
PERSONAL_FIELDS: dict[str, frozenset[str]] = {
    "contact": frozenset({"name", "title", "email", "phone", "notes", "lawful_basis_note"}),
    "interaction": frozenset({"summary", "outcome"}),
    "follow_up": frozenset({"title"}),
    # free text that may name a signatory (issue 13 x 15); agreements are new with 0013, so
    # no event before this held one in plain text outside the demo data
    "agreement": frozenset({"title", "notes", "termination_reason"}),
}
#: the key of a reference to an audit value inside an event's changes or details
REF = "$pv"
#: details that hold what a person typed (a search for "Kofi Lopez" names him): kept as audit
#: values too, at any depth of the details, so erasure can scrub them by their text
FREE_TEXT_DETAILS = frozenset({"q"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return value


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list]:
    """{field: [old, new]} for the fields whose value changed."""
    return {
        key: [_jsonable(old.get(key)), _jsonable(value)]
        for key, value in new.items()
        if old.get(key) != value
    }


def _personal_refs(object_type: str | None, object_id: Any, changes: dict | None,
                   values: list[AuditValue]) -> dict | None:
    """`changes` with each personal value replaced by a reference to a new AuditValue."""
    personal = PERSONAL_FIELDS.get(object_type or "")
    if not changes or not personal or not personal & changes.keys():
        return changes
    out = dict(changes)
    for key in personal & changes.keys():
        refs = []
        for value in changes[key]:
            if value is None or value == "":
                refs.append(value)
                continue
            row = AuditValue(id=uuid.uuid4().hex, object_type=object_type,
                             object_id=str(object_id), field=key, value=str(value))
            values.append(row)
            refs.append({REF: row.id})
        out[key] = refs
    return out


def _free_text_refs(details: Any, object_type: str | None, object_id: Any,
                    values: list[AuditValue]) -> Any:
    """`details` with each FREE_TEXT_DETAILS string replaced by a reference."""
    if isinstance(details, dict):
        out = {}
        for key, value in details.items():
            if key in FREE_TEXT_DETAILS and isinstance(value, str) and value:
                row = AuditValue(id=uuid.uuid4().hex, object_type=object_type or "",
                                 object_id="" if object_id is None else str(object_id),
                                 field=key, value=value)
                values.append(row)
                out[key] = {REF: row.id}
            else:
                out[key] = _free_text_refs(value, object_type, object_id, values)
        return out
    return details


def is_ref(value: Any) -> bool:
    return isinstance(value, dict) and REF in value


def _refs_in(value: Any) -> Iterable[str]:
    if is_ref(value):
        yield value[REF]
    elif isinstance(value, dict):
        for item in value.values():
            yield from _refs_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs_in(item)


def resolve(events: Iterable[AuditEvent], session=None) -> dict[str, str | None]:
    """{reference id: value or None when erased} for every reference in `events` (changes
    and details), in one statement (nothing when there is none)."""
    ids = {ref for e in events for part in (e.changes, e.details) for ref in _refs_in(part)}
    if not ids:
        return {}
    session = session or db.session
    return dict(session.execute(
        select(AuditValue.id, AuditValue.value).where(AuditValue.id.in_(ids))).all())


def substitute(value: Any, values: dict[str, str | None]) -> Any:
    """`value` with every reference (at any depth) replaced by its value from `resolve`
    (None once erased)."""
    if is_ref(value):
        return values.get(value[REF])
    if isinstance(value, dict):
        return {k: substitute(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, values) for v in value]
    return value


def readable_changes(event: AuditEvent, session=None) -> dict[str, list]:
    """An event's changes with each personal reference replaced by its value (None once
    erased): for exports and tests; pages use `resolve` for a whole page at once."""
    values = resolve([event], session)

    def side(value: Any) -> Any:
        return values.get(value[REF]) if is_ref(value) else value

    return {key: [side(v) for v in pair] if isinstance(pair, list) else pair
            for key, pair in (event.changes or {}).items()}


def _event(action: str, *, actor, object_type=None, object_id=None, changes=None,
           details=None, values: list[AuditValue] | None = None) -> AuditEvent:
    if details:
        details = {k: _jsonable(v) for k, v in details.items()}
    if values is not None:
        changes = _personal_refs(object_type, object_id, changes, values)
        details = _free_text_refs(details, object_type, object_id, values)
    actor_id = actor.id if isinstance(actor, User) else actor
    return AuditEvent(
        action=action,
        actor_id=actor_id,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        changes=changes or None,
        details=details or None,
        request_id=context.request_id.get(),
        ip=context.client_ip.get(),
    )


def record(
    action: str,
    *,
    actor: User | int | None,
    object_type: str | None = None,
    object_id: Any = None,
    changes: dict | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Add an AuditEvent to the session: it commits (or rolls back) with the change itself."""
    values: list[AuditValue] = []
    event = _event(action, actor=actor, object_type=object_type, object_id=object_id,
                   changes=changes, details=details, values=values)
    db.session.add_all(values)
    db.session.add(event)
    return event


def record_now(action: str, **kwargs: Any) -> None:
    """Record an event in its own transaction (logins, refusals): a rollback cannot lose it."""
    values: list[AuditValue] = []
    with Session(db.engine) as session:
        event = _event(action, values=values, **kwargs)
        session.add_all(values)
        session.add(event)
        session.commit()
