"""Engagement digests: periods in the user's zone, set-based compilation, the email.

A digest covers one period ending at the user's local morning (weekly, Monday 08:00 by
default; or daily). `compile_digest` runs a fixed number of aggregate statements per
digest — at most one per section, never one per partner or interaction — each scoped by
crm.services.access, so a digest shows what the web pages would show, and derived values
(health, last contact) come from the interactions the recipient may see. An email leaves
the application, so restricted and confidential records are named as crm.services.outside
says ("a restricted partner"), for every recipient: their names and text are picked as NULL
in SQL, never fetched, and interactions are only counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, not_, or_, select, true
from sqlalchemy.orm import aliased

from crm import urls
from crm.extensions import db
from crm.mail import Email
from crm.models import (
    Delivery,
    FollowUp,
    Interaction,
    Partner,
    StageChange,
    User,
    partner_collaborators,
)
from crm.models.enums import SECTORS, STAGES, label

from .. import access, audit, deliveries, engagement, links, outside, timeutil
from ..errors import ValidationError

#: the three sectors a country should have an active partner in (coverage gaps)
COVERAGE_SECTORS = ("law_enforcement", "technology", "travel_tourism")
UPCOMING_DAYS = 7
#: caps on listed items (the totals are still exact)
MAX_INTERACTIONS = 50
MAX_FOLLOW_UPS = 50
MAX_DORMANT = 20
UNSUBSCRIBE_PURPOSE = "unsubscribe"
UNSUBSCRIBE_MAX_AGE = 90 * 24 * 3600
#: aliases built once: building them per statement is measurable at 1,000 digests
_PERSON = aliased(User, name="person")
#: the partner's name as an email may carry it (NULL when secret: never loaded)
_PARTNER_NAME = outside.sql_text(Partner.name, Partner.sensitivity)


# --- periods ------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @property
    def key_part(self) -> str:
        return self.start.isoformat()


def _boundary(day: date, user: User) -> datetime:
    return timeutil.local_day_at(day, user.digest_hour, user.timezone)


def period_for(user: User, now: datetime) -> Period | None:
    """The latest period that has ended by `now` in the user's zone (None when off).

    Boundaries are local wall-clock times (`digest_hour` on `digest_weekday`), converted
    to UTC one by one, so a week spanning a DST change is 167 or 169 hours long.
    """
    if user.digest_frequency not in ("weekly", "daily"):
        return None
    today = timeutil.local_date(now, user.timezone)
    step = 7 if user.digest_frequency == "weekly" else 1
    last = today - timedelta(days=(today.weekday() - user.digest_weekday) % 7 if step == 7 else 0)
    if _boundary(last, user) > now:
        last -= timedelta(days=step)
    return Period(_boundary(last - timedelta(days=step), user), _boundary(last, user))


def next_digest_at(user: User, now: datetime) -> datetime | None:
    """When the next digest period ends (the next local boundary after `now`)."""
    period = period_for(user, now)
    if period is None:
        return None
    step = 7 if user.digest_frequency == "weekly" else 1
    return _boundary(timeutil.local_date(period.end, user.timezone) + timedelta(days=step), user)


def previous_start(user: User, period: Period) -> datetime:
    """Start of the period before `period` (same local hour, same number of local days)."""
    start_day = timeutil.local_date(period.start, user.timezone)
    days = (timeutil.local_date(period.end, user.timezone) - start_day).days or 1
    hour = timeutil.to_local(period.start, user.timezone).hour
    return timeutil.local_day_at(start_day - timedelta(days=days), hour, user.timezone)


def dedupe_key(user_id: int, period: Period) -> str:
    return f"digest:{user_id}:{period.key_part}"


@dataclass(frozen=True)
class DueDigest:
    user_id: int
    email: str
    period: Period

    @property
    def key(self) -> str:
        return dedupe_key(self.user_id, self.period)


def due_digests(now: datetime) -> list[DueDigest]:
    """Users whose period has ended and who have no Delivery for its start (two queries)."""
    users = db.session.scalars(
        select(User).where(User.active.is_(True), User.digest_frequency != "off")
        .order_by(User.id)
    ).all()
    due = [DueDigest(u.id, u.email, p) for u in users if (p := period_for(u, now))]
    if not due:
        return []
    existing: set[str] = set()
    keys = [d.key for d in due]
    for i in range(0, len(keys), 1000):
        existing.update(db.session.scalars(
            select(Delivery.dedupe_key).where(Delivery.dedupe_key.in_(keys[i:i + 1000]))))
    return [d for d in due if d.key not in existing]


def ledger_rows(due: list[DueDigest]) -> list[dict[str, Any]]:
    """The Delivery rows for `due` (inserted with insert-or-ignore by the sweep)."""
    return [
        {
            "kind": "digest",
            "dedupe_key": d.key,
            "recipient_id": d.user_id,
            "recipient_email": d.email,
            "payload": {"period_start": d.period.start.isoformat(),
                        "period_end": d.period.end.isoformat()},
        }
        for d in due
    ]


def sweep(now: datetime) -> list[int]:
    """Insert the due digests into the ledger (flushes); the ids inserted now."""
    rows = ledger_rows(due_digests(now))
    return deliveries.insert_ignore(rows) if rows else []


# --- the data -------------------------------------------------------------------------

@dataclass
class InteractionItem:
    partner_id: int
    partner_name: str
    kind: str
    occurred_at: datetime
    who: str
    outcome: str


@dataclass
class SensitiveCount:
    """Restricted or confidential interactions with one partner: a count, never the text."""

    partner_id: int
    partner_name: str  #: as `outside` names it: "a restricted partner" when secret
    count: int
    label: str = ""  #: "2 interactions with a restricted partner"


@dataclass
class FollowUpItem:
    id: int
    title: str | None  #: None: restricted, the title stays in the application
    due_at: datetime
    partner_id: int
    partner_name: str  #: as `outside` names it
    assignee: str
    label: str = ""  #: the title, or "A follow-up with a restricted partner"


@dataclass
class PartnerItem:
    id: int
    name: str  #: as `outside` names it
    sector: str | None  #: None for a restricted partner (with the country, it identifies)
    country: str | None
    note: str = ""


def _partner_item(pid: int, name: str | None, sensitivity: str, sector: str, country: str,
                  note: str = "") -> PartnerItem:
    secret = outside.is_secret(sensitivity)
    return PartnerItem(pid, outside.partner_name(name, sensitivity),
                       None if secret else sector, None if secret else country, note)


@dataclass
class StageItem:
    partner_id: int
    partner_name: str
    from_stage: str | None
    to_stage: str
    changed_at: datetime


@dataclass
class CountRow:
    key: str
    current: int
    previous: int


@dataclass
class TeamSection:
    region: str | None
    by_sector: list[CountRow] = field(default_factory=list)
    by_country: list[CountRow] = field(default_factory=list)
    overdue_by_person: list[tuple[str, int]] = field(default_factory=list)
    dormant: list[PartnerItem] = field(default_factory=list)
    dormant_total: int = 0
    #: (country, [missing sectors])
    coverage_gaps: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def interactions_current(self) -> int:
        return sum(r.current for r in self.by_sector)

    @property
    def interactions_previous(self) -> int:
        return sum(r.previous for r in self.by_sector)


@dataclass
class NetworkSection:
    by_stage: list[tuple[str, int]] = field(default_factory=list)
    by_sector: list[tuple[str, int]] = field(default_factory=list)
    partners_total: int = 0
    interactions_current: int = 0
    interactions_previous: int = 0
    #: (delivery kind, failed count)
    failures: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class DigestData:
    user_id: int
    user_name: str
    role: str
    frequency: str
    timezone: str
    period_start: datetime
    period_end: datetime
    interactions: list[InteractionItem] = field(default_factory=list)
    interactions_total: int = 0
    sensitive: list[SensitiveCount] = field(default_factory=list)
    due_soon: list[FollowUpItem] = field(default_factory=list)
    overdue: list[FollowUpItem] = field(default_factory=list)
    turned_cooling: list[PartnerItem] = field(default_factory=list)
    turned_dormant: list[PartnerItem] = field(default_factory=list)
    new_partners: list[PartnerItem] = field(default_factory=list)
    stage_changes: list[StageItem] = field(default_factory=list)
    team: TeamSection | None = None
    network: NetworkSection | None = None

    @property
    def has_personal(self) -> bool:
        return any((self.interactions, self.sensitive, self.due_soon, self.overdue,
                    self.turned_cooling, self.turned_dormant, self.new_partners,
                    self.stage_changes))


def is_empty(data: DigestData) -> bool:
    """Nothing happened and nothing needs doing: standing facts alone (totals, coverage
    gaps) do not make a digest worth sending."""
    if data.has_personal:
        return False
    team = data.team
    if team and (team.interactions_current or team.interactions_previous
                 or team.overdue_by_person or team.dormant):
        return False
    net = data.network
    return not (net and (net.interactions_current or net.interactions_previous
                         or net.failures))


def one_line(text: str | None, limit: int = 140) -> str:
    """First non-blank line of `text`, shortened to `limit` characters."""
    line = next((ln.strip() for ln in (text or "").splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


# --- compilation ----------------------------------------------------------------------

def _mine_ids(user: User):
    """Ids of the partners the user owns or collaborates on, as a subquery.

    A UNION of two index lookups rather than `owner_id = … OR EXISTS (…)`, so the planner
    starts from the user's few partners and walks (partner_id, occurred_at) indexes instead
    of scanning every interaction of the period network-wide.
    """
    return select(Partner.id).where(Partner.owner_id == user.id).union(
        select(partner_collaborators.c.partner_id).where(
            partner_collaborators.c.user_id == user.id)).scalar_subquery()


def _mine(user: User):
    """Partners the user owns or collaborates on (the statement has `Partner` in FROM)."""
    return Partner.id.in_(_mine_ids(user))


def _sensitive():
    """Interaction rows whose text must stay in the application (either level guarded)."""
    return outside.secret_clause(Partner.sensitivity, Interaction.sensitivity)


def _by_outside_name():
    """Order by the name an email shows: secret partners last, by id, so not even their
    alphabetical place among the named ones leaves the application."""
    return (_PARTNER_NAME.asc().nulls_last(), Partner.id)


def _staff_interactions(user: User, data: DigestData, start: datetime, end: datetime) -> None:
    logger = _PERSON
    stmt = access.visible_interactions(user, select(
        Partner.id, Partner.name, Interaction.kind, Interaction.occurred_at,
        logger.name, Interaction.outcome, Interaction.summary, func.count().over(),
    ).select_from(Interaction)).outerjoin(logger, logger.id == Interaction.logged_by_id).where(
        Interaction.partner_id.in_(_mine_ids(user)), Interaction.occurred_at >= start,
        Interaction.occurred_at < end,
        Partner.archived.is_(False), not_(_sensitive()),
    ).order_by(Interaction.occurred_at.desc(), Interaction.id.desc()).limit(MAX_INTERACTIONS)
    for pid, pname, kind, at, who, outcome, summary, total in db.session.execute(stmt):
        data.interactions.append(InteractionItem(
            pid, pname, kind, at, who or "someone", one_line(outcome) or one_line(summary)))
        data.interactions_total = total


def _sensitive_counts(user: User, data: DigestData, start: datetime, end: datetime) -> None:
    stmt = access.visible_interactions(user, select(
        Partner.id, _PARTNER_NAME, Partner.sensitivity, func.count(Interaction.id),
    ).select_from(Interaction)).where(
        Interaction.partner_id.in_(_mine_ids(user)), Interaction.occurred_at >= start,
        Interaction.occurred_at < end, Partner.archived.is_(False), _sensitive(),
    ).group_by(Partner.id, Partner.name, Partner.sensitivity).order_by(*_by_outside_name())
    data.sensitive = [
        SensitiveCount(pid, outside.partner_name(name, sens), n,
                       outside.interactions_label(n, name, sens))
        for pid, name, sens, n in db.session.execute(stmt)]


def _open_follow_up_ids(user: User, before: datetime):
    """Open follow-ups due before `before`, assigned to the user or on their partners: a UNION
    of two index range scans (assignee, status, due) and (partner, due)."""
    open_due = (FollowUp.status == "open", FollowUp.due_at < before)
    return select(FollowUp.id).where(FollowUp.assignee_id == user.id, *open_due).union(
        select(FollowUp.id).where(FollowUp.partner_id.in_(_mine_ids(user)), *open_due),
    ).scalar_subquery()


def _follow_ups(user: User, data: DigestData, now: datetime) -> None:
    """Open follow-ups due within 7 days (or overdue). A restricted follow-up (its own
    sensitivity is at least its partner's and its interaction's) or one with a restricted
    partner keeps its title in the application: NULL is selected."""
    assignee = _PERSON
    title = outside.sql_text(FollowUp.title, FollowUp.sensitivity, Partner.sensitivity)
    stmt = access.visible_follow_ups(user, select(
        FollowUp.id, title, FollowUp.sensitivity, FollowUp.due_at, Partner.id, _PARTNER_NAME,
        Partner.sensitivity, assignee.name,
    ).select_from(FollowUp)).outerjoin(assignee, assignee.id == FollowUp.assignee_id).where(
        FollowUp.id.in_(_open_follow_up_ids(user, now + timedelta(days=UPCOMING_DAYS))),
        Partner.archived.is_(False),
    ).order_by(FollowUp.due_at, FollowUp.id).limit(MAX_FOLLOW_UPS)
    for fid, title, sens, due, pid, pname, psens, who in db.session.execute(stmt):
        item = FollowUpItem(fid, outside.follow_up_title(title, sens, psens), due, pid,
                            outside.partner_name(pname, psens), who or "unassigned",
                            outside.follow_up_label(title, sens, pname, psens))
        (data.overdue if due < now else data.due_soon).append(item)


def _health_changes(user: User, data: DigestData, start: datetime, end: datetime,
                    thresholds: engagement.Thresholds) -> None:
    seen = access.last_interaction_seen(user)  # a hidden meeting keeps nobody "active"

    def h(state: str, at: datetime):
        return engagement.health_clause(state, at, thresholds, last=seen)

    cooling = and_(h("cooling", end), h("active", start))
    dormant = and_(h("dormant", end), not_(h("dormant", start)))
    stmt = access.visible_partners(user, select(
        Partner.id, _PARTNER_NAME, Partner.sensitivity, Partner.sector, Partner.country,
        case((dormant, "dormant"), else_="cooling"),
    )).where(_mine(user), Partner.archived.is_(False), Partner.stage != "closed",
             or_(cooling, dormant)).order_by(*_by_outside_name())
    for pid, name, sens, sector, country, state in db.session.execute(stmt):
        item = _partner_item(pid, name, sens, sector, country)
        (data.turned_dormant if state == "dormant" else data.turned_cooling).append(item)


def _new_partners(user: User, data: DigestData, start: datetime, end: datetime) -> None:
    stmt = access.visible_partners(user, select(
        Partner.id, _PARTNER_NAME, Partner.sensitivity, Partner.sector, Partner.country,
    )).where(Partner.owner_id == user.id, Partner.created_at >= start,
             Partner.created_at < end, Partner.archived.is_(False)).order_by(*_by_outside_name())
    data.new_partners = [_partner_item(*row) for row in db.session.execute(stmt)]


def _stage_changes(user: User, data: DigestData, start: datetime, end: datetime) -> None:
    stmt = access.visible_partners(user, select(
        Partner.id, _PARTNER_NAME, Partner.sensitivity, StageChange.from_stage,
        StageChange.to_stage, StageChange.changed_at,
    ).select_from(StageChange).join(Partner, Partner.id == StageChange.partner_id)).where(
        StageChange.partner_id.in_(_mine_ids(user)), StageChange.changed_at >= start,
        StageChange.changed_at < end,
    ).order_by(StageChange.changed_at, StageChange.id)
    data.stage_changes = [
        StageItem(pid, outside.partner_name(name, sens), *rest)
        for pid, name, sens, *rest in db.session.execute(stmt)]


def _in_scope(user: User):
    return Partner.region == user.region_scope if user.region_scope else true()


def _period_sums(start: datetime, prev_start: datetime):
    current = func.sum(case((Interaction.occurred_at >= start, 1), else_=0))
    previous = func.sum(case((Interaction.occurred_at < start, 1), else_=0))
    return current, previous, Interaction.occurred_at >= prev_start


def _team(user: User, start: datetime, end: datetime, prev_start: datetime, now: datetime,
          thresholds: engagement.Thresholds) -> TeamSection:
    team = TeamSection(region=user.region_scope)
    current, previous, since = _period_sums(start, prev_start)
    activity = access.visible_interactions(user, select(
        Partner.sector, Partner.country, current, previous,
    ).select_from(Interaction)).where(
        _in_scope(user), since, Interaction.occurred_at < end,
    ).group_by(Partner.sector, Partner.country)
    sectors: dict[str, list[int]] = {}
    countries: dict[str, list[int]] = {}
    for sector, country, cur, prev in db.session.execute(activity):
        for bucket, key in ((sectors, sector), (countries, country)):
            counts = bucket.setdefault(key, [0, 0])
            counts[0] += int(cur or 0)
            counts[1] += int(prev or 0)

    def rows(bucket: dict[str, list[int]]) -> list[CountRow]:
        return sorted((CountRow(k, c, p) for k, (c, p) in bucket.items()),
                      key=lambda r: (-r.current, -r.previous, r.key))

    team.by_sector, team.by_country = rows(sectors), rows(countries)

    assignee = _PERSON
    overdue = access.visible_follow_ups(user, select(
        func.coalesce(assignee.name, "Unassigned"), func.count(FollowUp.id),
    ).select_from(FollowUp)).outerjoin(assignee, assignee.id == FollowUp.assignee_id).where(
        _in_scope(user), FollowUp.status == "open", FollowUp.due_at < now,
        Partner.archived.is_(False),
    ).group_by(assignee.id, assignee.name).order_by(func.count(FollowUp.id).desc())
    team.overdue_by_person = [(name, int(n)) for name, n in db.session.execute(overdue)]

    seen = access.last_interaction_seen(user)  # the manager's, not the owner's, last contact
    dormant = access.visible_partners(user, select(
        Partner.id, _PARTNER_NAME, Partner.sensitivity, Partner.sector, Partner.country,
        seen, func.count().over(),
    )).where(
        _in_scope(user), Partner.archived.is_(False), Partner.stage != "closed",
        engagement.health_clause("dormant", now, thresholds, last=seen),
    ).order_by(seen.asc().nulls_first(), *_by_outside_name()).limit(MAX_DORMANT)
    for pid, name, sens, sector, country, last, total in db.session.execute(dormant):
        note = f"last contact {last:%d %b %Y}" if last else "never contacted"
        team.dormant.append(_partner_item(pid, name, sens, sector, country, note))
        team.dormant_total = int(total)

    active_in = [
        func.sum(case((and_(Partner.stage == "active", Partner.sector == s), 1), else_=0))
        for s in COVERAGE_SECTORS
    ]
    coverage = access.visible_partners(user, select(Partner.country, *active_in)).where(
        _in_scope(user), Partner.archived.is_(False),
    ).group_by(Partner.country).having(or_(*(c == 0 for c in active_in))).order_by(
        Partner.country)
    for country, *counts in db.session.execute(coverage):
        missing = [s for s, n in zip(COVERAGE_SECTORS, counts, strict=True) if not n]
        team.coverage_gaps.append((country, missing))
    return team


def _network(user: User, start: datetime, end: datetime, prev_start: datetime) -> NetworkSection:
    net = NetworkSection()
    by = access.visible_partners(user, select(Partner.stage, Partner.sector, func.count())).where(
        Partner.archived.is_(False)).group_by(Partner.stage, Partner.sector)
    stages: dict[str, int] = {}
    sectors: dict[str, int] = {}
    for stage, sector, n in db.session.execute(by):
        stages[stage] = stages.get(stage, 0) + n
        sectors[sector] = sectors.get(sector, 0) + n

    net.by_stage = [(s, stages[s]) for s in STAGES if s in stages]
    net.by_sector = sorted(((s, sectors[s]) for s in SECTORS if s in sectors),
                           key=lambda r: -r[1])
    net.partners_total = sum(stages.values())
    current, previous, since = _period_sums(start, prev_start)
    row = db.session.execute(access.visible_interactions(
        user, select(current, previous).select_from(Interaction),
    ).where(since, Interaction.occurred_at < end)).one()
    net.interactions_current, net.interactions_previous = int(row[0] or 0), int(row[1] or 0)
    failures = select(Delivery.kind, func.count()).where(
        Delivery.status == "failed", Delivery.updated_at >= start, Delivery.updated_at < end,
    ).group_by(Delivery.kind).order_by(Delivery.kind)
    net.failures = [(kind, int(n)) for kind, n in db.session.execute(failures)]
    return net


def compile_digest(user: User, period_start: datetime, period_end: datetime, now: datetime,
                   thresholds: engagement.Thresholds | None = None) -> DigestData:
    """Everything the user's digest says for [period_start, period_end), as of `now`.

    A fixed number of statements: 6 for the personal section, 4 more for managers,
    3 more for admins — whatever the number of partners or interactions.
    """
    thresholds = thresholds or engagement.DEFAULT
    data = DigestData(user.id, user.name, user.role, user.digest_frequency, user.timezone,
                      period_start, period_end)
    if not user.active:
        return data
    if user.role != "viewer":
        _staff_interactions(user, data, period_start, period_end)
        _sensitive_counts(user, data, period_start, period_end)
        _follow_ups(user, data, now)
        _health_changes(user, data, period_start, period_end, thresholds)
        _new_partners(user, data, period_start, period_end)
        _stage_changes(user, data, period_start, period_end)
    prev_start = previous_start(user, Period(period_start, period_end))
    if user.role == "manager":
        data.team = _team(user, period_start, period_end, prev_start, now, thresholds)
    if user.role == "admin":
        data.network = _network(user, period_start, period_end, prev_start)
    return data


# --- preferences and unsubscribe ---------------------------------------------------

def update_preferences(user: User, *, frequency: str, weekday: int, hour: int, always: bool,
                       actor: User) -> dict[str, list]:
    """Change the digest preferences (flushes, audited); the changes made."""
    if frequency not in ("weekly", "daily", "off"):
        raise ValidationError({"frequency": "Choose weekly, daily or off."})
    if not 0 <= weekday <= 6:
        raise ValidationError({"weekday": "Choose a day of the week."})
    if not 0 <= hour <= 23:
        raise ValidationError({"hour": "Choose an hour between 0 and 23."})
    old = {"digest_frequency": user.digest_frequency, "digest_weekday": user.digest_weekday,
           "digest_hour": user.digest_hour, "digest_always": user.digest_always}
    new = {"digest_frequency": frequency, "digest_weekday": weekday, "digest_hour": hour,
           "digest_always": always}
    changes = audit.diff(old, new)
    if changes:
        for key, value in new.items():
            setattr(user, key, value)
        audit.record("user.digest_preferences", actor=actor, object_type="user",
                     object_id=user.id, changes=changes)
        db.session.flush()
    return changes


def unsubscribe_token(secret_key: str, user: User) -> str:
    return links.make(secret_key, UNSUBSCRIBE_PURPOSE, {"uid": user.id})


def user_for_unsubscribe(secret_key: str, token: str) -> User:
    """The user a still-valid unsubscribe link is for; raises links.LinkError."""
    data = links.peek(secret_key, UNSUBSCRIBE_PURPOSE, token, UNSUBSCRIBE_MAX_AGE)
    user = db.session.get(User, data.get("uid"))
    if user is None:
        raise links.LinkError("invalid")
    return user


def unsubscribe(secret_key: str, token: str) -> User:
    """Use the link once: digests off, audited (flushes). Raises links.LinkError."""
    data = links.consume(secret_key, UNSUBSCRIBE_PURPOSE, token, UNSUBSCRIBE_MAX_AGE)
    user = db.session.get(User, data.get("uid"))
    if user is None:
        raise links.LinkError("invalid")
    old = user.digest_frequency
    user.digest_frequency = "off"
    audit.record("user.digest_unsubscribe", actor=user, object_type="user", object_id=user.id,
                 changes={"digest_frequency": [old, "off"]}, details={"via": "email link"})
    db.session.flush()
    return user


# --- the email ------------------------------------------------------------------------

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def subject_for(data: DigestData) -> str:
    end_local = timeutil.to_local(data.period_end, data.timezone)
    start_local = timeutil.to_local(data.period_start, data.timezone)
    if data.frequency == "daily":
        return f"Your daily partner digest: {start_local:%a %d %b %Y}"
    return f"Your weekly partner digest: {start_local:%d %b} – {end_local:%d %b %Y}"


def reason_for(user: User) -> str:
    """Why the person got this email, in one sentence."""
    when = f"{user.digest_hour:02d}:00 ({user.timezone})"
    if user.digest_frequency == "daily":
        schedule = f"a daily digest at {when}"
    else:
        schedule = f"a weekly digest on {WEEKDAYS[user.digest_weekday]}s at {when}"
    extra = " You asked to receive it even when there is nothing new." if user.digest_always \
        else ""
    return (f"You receive this because your Partner CRM account ({user.email}) is set to "
            f"{schedule}.{extra}")


def build_email(user: User, data: DigestData, *, secret_key: str, base_url: str,
                message_id: str | None = None) -> Email:
    """The digest as a `crm.mail.Email`, with one-click unsubscribe (RFC 8058) headers."""
    token = unsubscribe_token(secret_key, user)
    unsubscribe_url = urls.digest_unsubscribe_url(base_url, token)
    tz = user.timezone

    def local(moment: datetime, fmt: str = "%a %d %b %H:%M") -> str:
        return timeutil.to_local(moment, tz).strftime(fmt)

    subject = subject_for(data)
    return Email(
        to=user.email, to_name=user.name, subject=subject, template="digest",
        message_id=message_id,
        context={
            "subject": subject, "d": data, "user": user, "reason": reason_for(user),
            "local": local, "label": label, "base_url": base_url,
            "preferences_url": urls.digest_preferences_url(base_url),
            "unsubscribe_url": unsubscribe_url, "empty": is_empty(data),
            "country_name": _country_name,
        },
        headers={"List-Unsubscribe": f"<{unsubscribe_url}>",
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )


def _country_name(code: str) -> str:
    from .. import countries

    return countries.country_name(code)


def digest_for(user: User, period: Period, now: datetime, *, secret_key: str, base_url: str,
               thresholds: engagement.Thresholds | None = None):
    """(data, email or None, reason): the email is None when the rules say not to send."""
    data = compile_digest(user, period.start, period.end, now, thresholds)
    if not user.active:
        return data, None, "inactive user"
    if user.digest_frequency == "off":
        return data, None, "digests turned off"
    if is_empty(data) and not user.digest_always:
        return data, None, "empty digest"
    return data, build_email(user, data, secret_key=secret_key, base_url=base_url), ""


def render(rows: list[Delivery], settings: deliveries.MailSettings) -> Email | None:
    """The digest's renderer (crm.services.emails): compile the row's period now; None (row
    closed with the reason) when the digest is empty, the user turned digests off or is gone.
    """
    row = rows[0]
    user = db.session.get(User, row.recipient_id) if row.recipient_id else None
    payload = row.payload or {}
    if user is None or "period_start" not in payload:
        deliveries.skip(row, "no such user or period")
        return None
    period = Period(datetime.fromisoformat(payload["period_start"]),
                    datetime.fromisoformat(payload["period_end"]))
    _, email, reason = digest_for(
        user, period, timeutil.now_utc(), secret_key=settings.secret_key,
        base_url=settings.base_url, thresholds=settings.thresholds)
    if email is None:
        deliveries.skip(row, reason)
    return email
