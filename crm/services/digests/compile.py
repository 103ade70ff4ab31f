"""The set-based compilation: a fixed number of aggregate statements per digest.

At most one statement per section, never one per partner or interaction, each scoped by
crm.services.access. Restricted and confidential names and text are picked as NULL in SQL
(crm.services.outside), never fetched; their interactions are only counted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, not_, or_, select, true
from sqlalchemy.orm import aliased

from crm.extensions import db
from crm.models import (
    Delivery,
    FollowUp,
    Interaction,
    Partner,
    StageChange,
    User,
    partner_collaborators,
)
from crm.models.enums import SECTORS, STAGES

from .. import access, engagement, outside
from .agreements import compile_agreements
from .data import (
    CountRow,
    DigestData,
    FollowUpItem,
    InteractionItem,
    NetworkSection,
    PartnerItem,
    SensitiveCount,
    StageItem,
    TeamSection,
)
from .schedule import Period, previous_start

#: the three sectors a country should have an active partner in (coverage gaps)
COVERAGE_SECTORS = ("law_enforcement", "technology", "travel_tourism")
UPCOMING_DAYS = 7
#: caps on listed items (the totals are still exact)
MAX_INTERACTIONS = 50
MAX_FOLLOW_UPS = 50
MAX_LAPSED = 20
#: aliases built once: building them per statement is measurable at 1,000 digests
_PERSON = aliased(User, name="person")
#: the partner's name as an email may carry it (NULL when secret: never loaded)
_PARTNER_NAME = outside.sql_text(Partner.name, Partner.sensitivity)


def one_line(text: str | None, limit: int = 140) -> str:
    """First non-blank line of `text`, shortened to `limit` characters."""
    line = next((ln.strip() for ln in (text or "").splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _partner_item(pid: int, name: str | None, sensitivity: str, sector: str, country: str,
                  note: str = "") -> PartnerItem:
    secret = outside.is_secret(sensitivity)
    return PartnerItem(pid, outside.partner_name(name, sensitivity),
                       None if secret else sector, None if secret else country, note)


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
    seen = access.last_interaction_seen(user)  # a hidden meeting keeps nobody "engaged"

    def h(state: str, at: datetime):
        return engagement.health_clause(state, at, thresholds, last=seen)

    # a partner added without an interaction goes from "new" to "cooling" like an engaged one
    cooling = and_(h("cooling", end), or_(h("engaged", start), h("new", start)))
    lapsed = and_(h("lapsed", end), not_(h("lapsed", start)))
    stmt = access.visible_partners(user, select(
        Partner.id, _PARTNER_NAME, Partner.sensitivity, Partner.sector, Partner.country,
        case((lapsed, "lapsed"), else_="cooling"),
    )).where(_mine(user), Partner.archived.is_(False), Partner.stage != "closed",
             or_(cooling, lapsed)).order_by(*_by_outside_name())
    for pid, name, sens, sector, country, state in db.session.execute(stmt):
        item = _partner_item(pid, name, sens, sector, country)
        (data.turned_lapsed if state == "lapsed" else data.turned_cooling).append(item)


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
    lapsed = access.visible_partners(user, select(
        Partner.id, _PARTNER_NAME, Partner.sensitivity, Partner.sector, Partner.country,
        seen, func.count().over(),
    )).where(
        _in_scope(user), Partner.archived.is_(False), Partner.stage != "closed",
        engagement.health_clause("lapsed", now, thresholds, last=seen),
    ).order_by(seen.asc().nulls_first(), *_by_outside_name()).limit(MAX_LAPSED)
    for pid, name, sens, sector, country, last, total in db.session.execute(lapsed):
        note = f"last contact {last:%d %b %Y}" if last else "never contacted"
        team.lapsed.append(_partner_item(pid, name, sens, sector, country, note))
        team.lapsed_total = int(total)

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

    A fixed number of statements: 7 for the personal section (the last one: the agreement
    sections, for managers their region's too), 4 more for managers, 3 more for admins —
    whatever the number of partners, interactions or agreements.
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
        scope = _mine(user)
        if user.role == "manager":
            scope = or_(scope, _in_scope(user))
        compile_agreements(user, data, now, scope)
    prev_start = previous_start(user, Period(period_start, period_end))
    if user.role == "manager":
        data.team = _team(user, period_start, period_end, prev_start, now, thresholds)
    if user.role == "admin":
        data.network = _network(user, period_start, period_end, prev_start)
    return data
