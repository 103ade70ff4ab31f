"""A partner's timeline: interactions, follow-up events, stage changes and agreement events,
newest first.

One UNION ALL statement picks the page of (kind, at, id) keys, ordered by
(at, kind, id) descending and keyset-paginated with a `before` cursor; then seven
statements load the rows (interactions, their visible contacts, their staff,
follow-ups, stage changes, and the partner's visible agreements with the page's reports
received) — always eight in all, however long the history. The agreements statement also
gives the partner page its agreements panel (`TimelinePage.agreements`), so the panel
costs nothing more.

Agreement events (agreements the reader may see only): `agreement_signed` on the signing
day, `agreement_renewed` when its successor was recorded, `agreement_expired` on the
expiry day once past (unless renewed or terminated), `agreement_terminated` on the
termination day, `agreement_report` on the day a report was received. A day counts as
12:00 UTC for ordering; the page prints the day itself.

Follow-up events: `follow_up_created` at created_at, `follow_up_done` at completed_at,
`follow_up_cancelled` at completed_at (or updated_at when the cancelling code did not
set completed_at).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    FunctionElement,
    String,
    and_,
    func,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from crm.extensions import db
from crm.lib import timeutil
from crm.models import (
    Agreement,
    AgreementReport,
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
         "stage_change", "agreement_signed", "agreement_renewed", "agreement_expired",
         "agreement_terminated", "agreement_report")
#: agreement events that happen on a day (the page prints the day, not a time)
DAY_KINDS = frozenset({"agreement_signed", "agreement_expired", "agreement_terminated",
                       "agreement_report"})
_CURSOR_TIME = "%Y%m%dT%H%M%S.%fZ"


@dataclass
class TimelineEntry:
    kind: str
    at: datetime
    obj: Any
    #: for interactions: the contacts present that the user may see, and staff present
    contacts: list[Contact] = field(default_factory=list)
    staff: list[User] = field(default_factory=list)
    #: for agreement events on a day: that day
    day: date | None = None

    @property
    def cursor(self) -> str:
        return encode_cursor(self.at, self.kind, self.obj.id)


@dataclass
class TimelinePage:
    entries: list[TimelineEntry]
    #: pass as `before` to get the next (older) page; None on the last page
    next_cursor: str | None
    #: every agreement with the partner that the reader may see (the partner page's panel)
    agreements: list[Agreement] = field(default_factory=list)


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


class noon_utc(FunctionElement):  # noqa: N801 - reads as the SQL it renders
    """A DATE column as that day's 12:00 UTC timestamp, on PostgreSQL and SQLite."""

    inherit_cache = True
    name = "noon_utc"
    type = UTCDateTime()


@compiles(noon_utc)
def _noon_default(element, compiler, **kw):
    day = compiler.process(next(iter(element.clauses)), **kw)
    return f"((CAST({day} AS TIMESTAMP) + INTERVAL '12 hours') AT TIME ZONE 'UTC')"


@compiles(noon_utc, "sqlite")
def _noon_sqlite(element, compiler, **kw):
    return f"datetime({compiler.process(next(iter(element.clauses)), **kw)}, '+12 hours')"


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
    return union_all(interactions, follow_ups, done, cancelled, stages,
                     *_agreement_sources(user, partner)).subquery("events")


def _agreement_sources(user: User, partner: Partner) -> list:
    """The agreement events' keys, for agreements `user` may see."""
    today = timeutil.now_utc().date()
    mine = Agreement.partner_id == partner.id
    signed = access.visible_agreements(user, _keys(
        "agreement_signed", noon_utc(Agreement.signed_on), Agreement.id)).where(
        mine, Agreement.signed_on.is_not(None),
        Agreement.status.not_in(("draft", "negotiation")))
    successor = aliased(Agreement)
    renewed = access.visible_agreements(user, _keys(
        "agreement_renewed", successor.created_at, Agreement.id).select_from(Agreement)).join(
        successor, successor.id == Agreement.successor_id).where(
        mine, Agreement.status == "renewed")
    expired = access.visible_agreements(user, _keys(
        "agreement_expired", noon_utc(Agreement.expires_on), Agreement.id)).where(
        mine, Agreement.expires_on < today,
        Agreement.status.in_(("signed", "active", "expired")))
    terminated = access.visible_agreements(user, _keys(
        "agreement_terminated", noon_utc(Agreement.terminated_on), Agreement.id)).where(
        mine, Agreement.status == "terminated", Agreement.terminated_on.is_not(None))
    reports = access.visible_agreements(user, _keys(
        "agreement_report", noon_utc(AgreementReport.received_on), AgreementReport.id)
        .select_from(AgreementReport).join(Agreement, Agreement.id == AgreementReport.agreement_id)
    ).where(mine)
    return [signed, renewed, expired, terminated, reports]


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
        if kind in DAY_KINDS:
            entry.day = {"agreement_signed": getattr(obj, "signed_on", None),
                         "agreement_expired": getattr(obj, "expires_on", None),
                         "agreement_terminated": getattr(obj, "terminated_on", None),
                         "agreement_report": getattr(obj, "received_on", None)}[kind]
        if kind == "interaction":
            entry.contacts = objects["contacts"].get(object_id, [])
            entry.staff = objects["staff"].get(object_id, [])
        entries.append(entry)
    next_cursor = encode_cursor(_aware(rows[-1][1]), rows[-1][0], rows[-1][2]) \
        if more and rows else None
    return TimelinePage(entries=entries, next_cursor=next_cursor,
                        agreements=objects["agreements"])


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _load(user: User, partner: Partner, rows) -> dict:
    """The rows behind the keys in a fixed seven statements, whatever kinds the page holds."""
    wanted: dict[str, set[int]] = {"interaction": set(), "follow_up": set(), "stage_change": set(),
                                   "agreement": set(), "agreement_report": set()}
    for kind, _at, object_id in rows:
        if kind.startswith("follow_up"):
            wanted["follow_up"].add(object_id)
        elif kind.startswith("agreement_") and kind != "agreement_report":
            wanted["agreement"].add(object_id)
        else:
            wanted[kind].add(object_id)
    objects: dict = {"contacts": {}, "staff": {}, "agreements": []}
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
    # every agreement the reader may see here (the panel), with the page's reports received
    seen: dict[int, Agreement] = {}
    for agreement, report in db.session.execute(
        access.visible_agreements(user, select(Agreement, AgreementReport)).outerjoin(
            AgreementReport, and_(AgreementReport.agreement_id == Agreement.id,
                                  AgreementReport.id.in_(wanted["agreement_report"])))
        .where(Agreement.partner_id == partner.id)
        .order_by(Agreement.status.in_(("signed", "active")).desc(),
                  Agreement.expires_on.asc().nulls_last(), Agreement.id.desc())
    ):
        if agreement.id not in seen:
            seen[agreement.id] = agreement
            objects["agreements"].append(agreement)
            for kind in ("agreement_signed", "agreement_renewed", "agreement_expired",
                         "agreement_terminated"):
                objects[(kind, agreement.id)] = agreement
        if report is not None:
            set_committed_value(report, "agreement", agreement)
            objects[("agreement_report", report.id)] = report
    return objects
