"""The audit trail: append-only events for every change, export, login and refusal."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from crm.extensions import db
from crm.lib import context
from crm.models import AuditEvent, User


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


def _event(action: str, *, actor, object_type=None, object_id=None, changes=None,
           details=None) -> AuditEvent:
    actor_id = actor.id if isinstance(actor, User) else actor
    return AuditEvent(
        action=action,
        actor_id=actor_id,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        changes=changes or None,
        details={k: _jsonable(v) for k, v in details.items()} if details else None,
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
    event = _event(action, actor=actor, object_type=object_type, object_id=object_id,
                   changes=changes, details=details)
    db.session.add(event)
    return event


def record_now(action: str, **kwargs: Any) -> None:
    """Record an event in its own transaction (logins, refusals): a rollback cannot lose it."""
    with Session(db.engine) as session:
        session.add(_event(action, **kwargs))
        session.commit()
