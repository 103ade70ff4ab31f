"""Versioned records: one audited update and one optimistic-locking rule for every record type.

Partners, contacts, interactions and follow-ups carry a `version` that grows by one on every
change that changes something (the API's ETag and the edit forms' hidden field read it).
`update_audited` is the shape every update shares: snapshot, apply, diff, bump, audit;
each service passes only what is its own (a refusal to check, a stage change, link tables).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from crm.extensions import db

from . import audit
from .errors import ConflictError

#: {field: [old, new]}, as `audit.diff` returns it
Changes = dict[str, list]


def _flush() -> None:
    db.session.flush()


def update_audited(
    actor: Any,
    record: Any,
    action: str,
    *,
    object_type: str,
    snapshot: Callable[[], dict[str, Any]],
    apply: Callable[[], None],
    guard: Callable[[Changes], None] | None = None,
    effects: Callable[[Changes], None] | None = None,
    details: Mapping[str, Any] | None = None,
    sensitivity_event: bool = False,
    flush: Callable[[], None] | None = _flush,
) -> Changes:
    """Apply a change to `record` and audit it old → new; the changes, or {} when none.

    In this order: `snapshot()` before, `apply()`, diff with `snapshot()` after; nothing
    more when nothing changed (the version stays, so an ETag stays valid); else `guard`
    (refusals, before the version moves), the version bump, `effects` (the record type's
    own writes), the `action` event, a `<object_type>.sensitivity` event of its own when
    asked and the sensitivity changed (searchable in the trail), then `flush` (None: the
    caller's commit flushes). A refusal raised on the way is rolled back by the caller.
    """
    before = snapshot()
    apply()
    changes = audit.diff(before, snapshot())
    if not changes:
        return changes
    if guard is not None:
        guard(changes)
    record.version = (record.version or 1) + 1
    if effects is not None:
        effects(changes)
    audit.record(action, actor=actor, object_type=object_type, object_id=record.id,
                 changes=changes, details=dict(details) if details else None)
    if sensitivity_event and "sensitivity" in changes:
        audit.record(f"{object_type}.sensitivity", actor=actor, object_type=object_type,
                     object_id=record.id, changes={"sensitivity": changes["sensitivity"]})
    if flush is not None:
        flush()
    return changes


# --- optimistic locking -------------------------------------------------------------------

def _label(record: Any) -> str:
    """FollowUp → "follow-up": the record's name in a message."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", type(record).__name__).lower()


def check_version(record: Any, expected: int | Collection[int] | None) -> None:
    """Optimistic locking, one rule for the edit forms, the API's If-Match and the services.

    `expected` is the version the caller read (an If-Match may name several; an empty
    collection names none, e.g. a garbled field); None means the caller sent none and
    nothing is checked. A stale one raises ConflictError before anything is written.
    """
    if expected is None:
        return
    read = {expected} if isinstance(expected, int) else set(expected)
    if record.version not in read:
        raise ConflictError(f"Someone else changed this {_label(record)} since you read it.")


def versions_named(tags: Iterable[str | None], prefix: str = "") -> frozenset[int]:
    """The versions in a form's hidden field ("3") or in ETags (prefix "v": "v3").

    Only the exact spelling counts ("v03" names no version), as when the text was compared;
    an empty tag (`If-Match: ""` parses to None) names none.
    """
    found = set()
    for tag in tags:
        digits = tag[len(prefix):] if tag and tag.startswith(prefix) else ""
        if _DIGITS.fullmatch(digits):
            found.add(int(digits))
    return frozenset(found)


_DIGITS = re.compile(r"0|[1-9][0-9]*")
