"""A partner's timeline: interactions, follow-up events and stage changes, newest first.

One UNION ALL statement picks the page of (kind, at, id) keys, ordered by
(at, kind, id) descending and keyset-paginated with a `before` cursor; then six
statements load the rows (interactions, their visible contacts, their staff,
follow-ups, stage changes) — always seven in all, however long the history.

Follow-up events: `follow_up_created` at created_at, `follow_up_done` at completed_at,
`follow_up_cancelled` at completed_at (or updated_at when the cancelling code did not
set completed_at).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, and_, func, literal, or_, select, type_coerce, union_all
from sqlalchemy.orm import joinedload

from crm.extensions import db
from crm.models import (
    Contact,
    FollowUp,
    Interaction,
    Partner,
    StageChange,
    User,
    interaction_contacts,
    interaction_staff,
)
from crm.models._types import UTCDateTime

from . import access
from .errors import ValidationError

KINDS = ("interaction", "follow_up_created", "follow_up_done", "follow_up_cancelled",
         "stage_change")
_CURSOR_TIME = "%Y%m%dT%H%M%S.%fZ"


@dataclass
class TimelineEntry:
    kind: str
    at: datetime
    obj: Any
    #: for interactions: the contacts present that the user may see, and staff present
    contacts: list[Contact] = field(default_factory=list)
    staff: list[User] = field(default_factory=list)

    @property
    def cursor(self) -> str:
        return encode_cursor(self.at, self.kind, self.obj.id)


@dataclass
class TimelinePage:
    entries: list[TimelineEntry]
    #: pass as `before` to get the next (older) page; None on the last page
    next_cursor: str | None


def encode_cursor(at: datetime, kind: str, object_id: int) -> str:
    return f"{at.astimezone(UTC).strftime(_CURSOR_TIME)}~{kind}~{object_id}"


def decode_cursor(cursor: str) -> tuple[datetime, str, int]:
    """Parse a cursor made by `encode_cursor`; ValidationError on anything else."""
    try:
        stamp, kind, object_id = cursor.split("~")
        at = datetime.strptime(stamp, _CURSOR_TIME).replace(tzinfo=UTC)
        if kind not in KINDS:
            raise ValueError(kind)
        return at, kind, int(object_id)
    except (ValueError, AttributeError):
        raise ValidationError({"before": "invalid timeline cursor"}) from None


def _keys(kind: str, at, object_id):
    return select(type_coerce(literal(kind), String(30)).label("kind"),
                  type_coerce(at, UTCDateTime).label("at"), object_id.label("id"))


def _sources(user: User, partner: Partner):
    interactions = access.visible_interactions(
        user, _keys("interaction", Interaction.occurred_at, Interaction.id)
    ).where(Interaction.partner_id == partner.id)
    follow_ups = access.visible_follow_ups(user, _keys(
        "follow_up_created", FollowUp.created_at, FollowUp.id)).where(
        FollowUp.partner_id == partner.id)
    done = access.visible_follow_ups(user, _keys(
        "follow_up_done", FollowUp.completed_at, FollowUp.id)).where(
        FollowUp.partner_id == partner.id, FollowUp.status == "done",
        FollowUp.completed_at.is_not(None))
    cancelled = access.visible_follow_ups(user, _keys(
        "follow_up_cancelled", func.coalesce(FollowUp.completed_at, FollowUp.updated_at),
        FollowUp.id)).where(FollowUp.partner_id == partner.id, FollowUp.status == "cancelled")
    stages = _keys("stage_change", StageChange.changed_at, StageChange.id).where(
        StageChange.partner_id == partner.id)
    return union_all(interactions, follow_ups, done, cancelled, stages).subquery("events")


def partner_timeline(user: User, partner: Partner, before: str | None = None,
                     limit: int = 25) -> TimelinePage:
    """One page of the timeline of a partner the caller already loaded via access.get_visible."""
    limit = max(1, min(int(limit), 100))
    events = _sources(user, partner)
    stmt = select(events.c.kind, events.c.at, events.c.id)
    if before:
        at, kind, object_id = decode_cursor(before)
        at_param = literal(at, UTCDateTime)
        stmt = stmt.where(or_(
            events.c.at < at_param,
            and_(events.c.at == at_param, or_(
                events.c.kind < kind, and_(events.c.kind == kind, events.c.id < object_id)))))
    stmt = stmt.order_by(events.c.at.desc(), events.c.kind.desc(), events.c.id.desc())
    rows = db.session.execute(stmt.limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    objects = _load(user, partner, rows)
    entries = []
    for kind, at, object_id in rows:
        obj = objects.get((kind, object_id))
        if obj is None:  # deleted between the two statements
            continue
        entry = TimelineEntry(kind=kind, at=_aware(at), obj=obj)
        if kind == "interaction":
            entry.contacts = objects["contacts"].get(object_id, [])
            entry.staff = objects["staff"].get(object_id, [])
        entries.append(entry)
    next_cursor = encode_cursor(_aware(rows[-1][1]), rows[-1][0], rows[-1][2]) \
        if more and rows else None
    return TimelinePage(entries=entries, next_cursor=next_cursor)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _load(user: User, partner: Partner, rows) -> dict:
    """The rows behind the keys in a fixed six statements, whatever kinds the page holds."""
    wanted: dict[str, set[int]] = {"interaction": set(), "follow_up": set(), "stage_change": set()}
    for kind, _at, object_id in rows:
        wanted["follow_up" if kind.startswith("follow_up") else kind].add(object_id)
    objects: dict = {"contacts": {}, "staff": {}}
    for obj in db.session.scalars(
        select(Interaction).where(Interaction.id.in_(wanted["interaction"]))
        .options(joinedload(Interaction.logged_by))
    ).unique():
        objects[("interaction", obj.id)] = obj
    # contacts present that this user may see, and staff present (explicit, always run)
    visible = access.visible_contacts(user, select(interaction_contacts.c.interaction_id, Contact)
                                      ).join(interaction_contacts,
                                             interaction_contacts.c.contact_id == Contact.id)
    for interaction_id, contact in db.session.execute(
        visible.where(interaction_contacts.c.interaction_id.in_(wanted["interaction"]))
        .order_by(Contact.name)
    ):
        objects["contacts"].setdefault(interaction_id, []).append(contact)
    for interaction_id, person in db.session.execute(
        select(interaction_staff.c.interaction_id, User)
        .join(User, User.id == interaction_staff.c.user_id)
        .where(interaction_staff.c.interaction_id.in_(wanted["interaction"])).order_by(User.name)
    ):
        objects["staff"].setdefault(interaction_id, []).append(person)
    for obj in db.session.scalars(
        select(FollowUp).where(FollowUp.id.in_(wanted["follow_up"])).options(
            joinedload(FollowUp.assignee), joinedload(FollowUp.created_by))
    ).unique():
        for kind in ("follow_up_created", "follow_up_done", "follow_up_cancelled"):
            objects[(kind, obj.id)] = obj
    for obj in db.session.scalars(
        select(StageChange).where(StageChange.id.in_(wanted["stage_change"])).options(
            joinedload(StageChange.changed_by))
    ).unique():
        objects[("stage_change", obj.id)] = obj
    return objects
