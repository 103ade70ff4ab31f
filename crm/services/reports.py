"""Reports: engagement, silent partners, follow-up performance and coverage.

Each report is scoped by crm.services.access (counts included) and runs a fixed number
of SQL statements whatever the data size: grouping happens in the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select, union_all
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement

from crm.extensions import db
from crm.lib import countries, timeutil, when
from crm.models import FollowUp, Interaction, InteractionMonthCount, Partner, User
from crm.models.enums import SECTORS, label
from crm.services import access, dashboard

from . import engagement as health
from .errors import ValidationError

PERIODS = {
    "last_30": "Last 30 days",
    "last_90": "Last 90 days",
    "last_365": "Last 12 months",
    "this_year": "This year",
    "custom": "Custom dates",
}
DIMENSIONS = ("sector", "region", "country", "owner")
SILENCE_LIMIT = 1000


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, and the equally long period just before it."""

    start: datetime
    end: datetime
    key: str = "custom"

    @property
    def previous(self) -> Period:
        return Period(self.start - (self.end - self.start), self.start, "previous")

    def first_day(self, tz: str | None = None) -> date:
        """The period's first local day in `tz`."""
        return timeutil.local_date(self.start, tz)

    def last_day(self, tz: str | None = None) -> date:
        """The period's last local day in `tz` (included: `end` is the midnight after it)."""
        return timeutil.local_date(self.end - timedelta(seconds=1), tz)

    def includes(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def label(self, tz: str | None = None) -> str:
        return f"{self.first_day(tz):%d %b %Y} – {self.last_day(tz):%d %b %Y}"


def _parse_date(value: str, field_name: str) -> date:
    try:
        return when.iso_day(value)
    except (TypeError, ValueError):
        raise ValidationError({field_name: "Enter a date as YYYY-MM-DD."}) from None


def period_from(args: Mapping[str, str], tz: str | None = None,
                now: datetime | None = None) -> Period:
    """Read `period` (+ `start`/`end` for custom) as whole local days in `tz`.

    The named periods end with today, included (up to its midnight): "Last 30 days" is today
    and the 29 days before it, "This year" is 1 January to today. The page says so.
    """
    now = now or timeutil.now_utc()
    key = args.get("period") or "last_90"
    if key not in PERIODS:
        raise ValidationError({"period": "Choose one of the listed periods."})
    today = timeutil.local_date(now, tz)
    if key == "custom":
        first = _parse_date(args.get("start", ""), "start")
        last = _parse_date(args.get("end", ""), "end")
        if last < first:
            raise ValidationError({"end": "The end date must not be before the start date."})
        if (last - first).days > 3660:
            raise ValidationError({"start": "Choose a period of at most ten years."})
    elif key == "this_year":
        first, last = date(today.year, 1, 1), today
    else:
        days = {"last_30": 30, "last_90": 90, "last_365": 365}[key]
        first, last = today - timedelta(days=days - 1), today
    start = timeutil.local_to_utc(datetime.combine(first, time()), tz)
    end = timeutil.local_to_utc(datetime.combine(last + timedelta(days=1), time()), tz)
    return Period(start, end, key)


@dataclass(frozen=True)
class Filters:
    """Partner filters shared by every report (region, sector, owner)."""

    region: str | None = None
    sector: str | None = None
    owner_id: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        region = args.get("region") or None
        sector = args.get("sector") or None
        owner = args.get("owner_id") or None
        errors = {}
        if region and region not in countries.regions():
            errors["region"] = "Unknown region."
        if sector and sector not in SECTORS:
            errors["sector"] = "Unknown sector."
        owner_id = None
        if owner:
            try:
                owner_id = int(owner)
            except ValueError:
                errors["owner_id"] = "Unknown owner."
        if errors:
            raise ValidationError(errors)
        return cls(region, sector, owner_id)

    def clause(self) -> ColumnElement[bool]:
        parts = [Partner.archived.is_(False)]
        if self.region:
            parts.append(Partner.region == self.region)
        if self.sector:
            parts.append(Partner.sector == self.sector)
        if self.owner_id:
            parts.append(Partner.owner_id == self.owner_id)
        return and_(*parts)

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v}


# --- 1. engagement ------------------------------------------------------------

@dataclass
class EngagementRow:
    key: str
    label: str
    current: int
    previous: int

    @property
    def change(self) -> int:
        return self.current - self.previous

    @property
    def change_pct(self) -> float | None:
        if not self.previous:
            return None
        return round(100.0 * self.change / self.previous, 1)


@dataclass
class Engagement:
    period: Period
    by: dict[str, list[EngagementRow]] = field(default_factory=dict)

    @property
    def total(self) -> tuple[int, int]:
        rows = self.by.get("sector", [])
        return sum(r.current for r in rows), sum(r.previous for r in rows)


def engagement_report(user: User, period: Period, filters: Filters) -> Engagement:
    """Interactions per sector/region/country/owner, this period vs the one before (4 SQL).

    Interactions deleted by retention still count: their monthly counts
    (`interaction_month_counts`, scoped like the interactions) are added in the same
    statement. A month's deleted interactions count in the period that includes its first
    day (a local day in the reader's zone): month-aligned periods ("This year", whole
    years) keep their totals exactly; a period starting mid-month leaves that month's
    deleted interactions to the period before.
    """
    prev = period.previous
    in_current = and_(Interaction.occurred_at >= period.start, Interaction.occurred_at < period.end)
    in_previous = and_(Interaction.occurred_at >= prev.start, Interaction.occurred_at < prev.end)
    tz = user.timezone
    month = InteractionMonthCount.month
    kept_current = and_(month >= period.first_day(tz), month <= period.last_day(tz))
    kept_previous = and_(month >= prev.first_day(tz), month <= prev.last_day(tz))
    kept = func.sum(InteractionMonthCount.count)
    owner = aliased(User)
    dims = {
        "sector": (Partner.sector,),
        "region": (Partner.region,),
        "country": (Partner.country,),
        "owner": (Partner.owner_id, owner.name),
    }
    result = Engagement(period)
    for name, columns in dims.items():
        live = access.visible_interactions(user, select(
            *columns, func.count().filter(in_current), func.count().filter(in_previous)))
        deleted = access.visible_month_counts(user, select(
            *columns, kept.filter(kept_current), kept.filter(kept_previous)))
        if name == "owner":
            live = live.outerjoin(owner, owner.id == Partner.owner_id)
            deleted = deleted.outerjoin(owner, owner.id == Partner.owner_id)
        live = (live.where(filters.clause(), Interaction.occurred_at >= prev.start,
                           Interaction.occurred_at < period.end).group_by(*columns))
        deleted = (deleted.where(filters.clause(), month >= prev.first_day(tz),
                                 month <= period.last_day(tz)).group_by(*columns))
        totals: dict[tuple, list[int]] = {}
        for *keys, current, previous in db.session.execute(union_all(live, deleted)):
            sums = totals.setdefault(tuple(keys), [0, 0])
            sums[0] += int(current or 0)
            sums[1] += int(previous or 0)
        rows = []
        for keys, (current, previous) in totals.items():
            key = keys[0]
            if name == "owner":
                text = keys[1] or "No owner"
            elif name == "country":
                text = countries.country_name(key)
            else:
                text = label(key) if name == "sector" else key
            rows.append(EngagementRow("" if key is None else str(key), text, current, previous))
        rows.sort(key=lambda r: (-r.current, -r.previous, r.label))
        result.by[name] = rows
    return result


# --- 2. lapsed and cooling partners -----------------------------------------

@dataclass
class SilentPartner:
    id: int
    name: str
    sector: str
    country: str
    region: str
    stage: str
    owner: str
    last_interaction_at: datetime | None  #: the latest the reader may see
    health: str
    days_silent: int | None


def silent_partners(user: User, filters: Filters, now: datetime | None = None,
                    thresholds: health.Thresholds = health.DEFAULT,
                    limit: int | None = SILENCE_LIMIT) -> list[SilentPartner]:
    """Cooling and lapsed partners, oldest silence first (never-contacted first of all)."""
    now = now or timeutil.now_utc()
    owner = aliased(User)
    last_seen = access.last_interaction_seen(user)
    quiet = or_(health.health_clause("cooling", now, thresholds, last=last_seen),
                health.health_clause("lapsed", now, thresholds, last=last_seen))
    stmt = (access.visible_partners(user, select(Partner, owner.name))
            .outerjoin(owner, owner.id == Partner.owner_id)
            .where(filters.clause(), quiet, Partner.stage != "closed")
            .order_by(last_seen.asc().nulls_first(), Partner.name))
    if limit:
        stmt = stmt.limit(limit)
    rows = []
    for partner, owner_name in db.session.execute(stmt):
        last = partner.last_interaction_seen
        rows.append(SilentPartner(
            partner.id, partner.name, partner.sector, partner.country, partner.region,
            partner.stage, owner_name or "", last,
            health.health_of(partner, now, thresholds),
            None if last is None else (now - last).days,
        ))
    return rows


# --- 3. follow-up performance --------------------------------------------------

@dataclass
class PerformanceRow:
    key: str
    label: str
    on_time: int
    late: int
    overdue: int
    open: int

    @property
    def completed(self) -> int:
        return self.on_time + self.late

    @property
    def on_time_pct(self) -> float | None:
        return round(100.0 * self.on_time / self.completed, 1) if self.completed else None


def follow_up_performance(user: User, period: Period, filters: Filters,
                          now: datetime | None = None) -> dict[str, list[PerformanceRow]]:
    """Follow-ups due in the period: done on time, done late, still overdue (2 SQL)."""
    now = now or timeutil.now_utc()
    done = FollowUp.status == "done"
    counts = (
        func.count().filter(and_(done, FollowUp.completed_at <= FollowUp.due_at)),
        func.count().filter(and_(done, FollowUp.completed_at > FollowUp.due_at)),
        func.count().filter(and_(FollowUp.status == "open", FollowUp.due_at < now)),
        func.count().filter(and_(FollowUp.status == "open", FollowUp.due_at >= now)),
    )
    assignee = aliased(User)
    base = (FollowUp.due_at >= period.start, FollowUp.due_at < period.end,
            FollowUp.status != "cancelled", filters.clause())
    by_person = (access.visible_follow_ups(user, select(FollowUp.assignee_id, assignee.name,
                                                        *counts))
                 .outerjoin(assignee, assignee.id == FollowUp.assignee_id)
                 .where(*base).group_by(FollowUp.assignee_id, assignee.name))
    by_sector = (access.visible_follow_ups(user, select(Partner.sector, *counts))
                 .where(*base).group_by(Partner.sector))
    people = [PerformanceRow(str(k or ""), name or "Unassigned", *map(int, nums))
              for k, name, *nums in db.session.execute(by_person)]
    sectors = [PerformanceRow(k, label(k), *map(int, nums))
               for k, *nums in db.session.execute(by_sector)]
    for rows in (people, sectors):
        rows.sort(key=lambda r: (-r.overdue, -r.late, r.label))
    return {"person": people, "sector": sectors}


# --- 4. coverage ---------------------------------------------------------------

def coverage(user: User, filters: Filters) -> dict:
    """The region × sector matrix and, per sector, countries where we work but have no
    live partner in that sector (2 SQL). A region or sector filter narrows the rows,
    columns and countries to it."""
    matrix = dashboard.coverage_matrix(user, filters.clause(), region=filters.region,
                                       sector=filters.sector)
    stmt = (access.visible_partners(user, select(Partner.country, Partner.sector).distinct())
            .where(filters.clause(), Partner.stage.in_(dashboard.COVERAGE_STAGES)))
    present: dict[str, set[str]] = {}
    for country, sector in db.session.execute(stmt):
        present.setdefault(country, set()).add(sector)
    sectors = [filters.sector] if filters.sector else list(SECTORS)
    gaps = [
        {"sector": s, "label": label(s),
         "countries": sorted((c for c, have in present.items() if s not in have),
                             key=countries.sort_key)}
        for s in sectors
    ]
    matrix["gaps"] = gaps
    matrix["countries_covered"] = len(present)
    return matrix


def owners(user: User) -> list[tuple[int, str]]:
    """People who own at least one partner the user can see (the owner filter's choices)."""
    base = (select(User.id, User.name).distinct().select_from(Partner)
            .join(User, User.id == Partner.owner_id))
    stmt = access.visible_partners(user, base).order_by(User.name)
    return [(i, n) for i, n in db.session.execute(stmt)]

