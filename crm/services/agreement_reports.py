"""Agreement reports (issue 15): agreements expiring in a period, reporting compliance,
The Code's criteria compliance, and the Code members view's numbers (`code_members`).

Every query is scoped by crm.services.access.visible_agreements (the reader sees these
numbers only for agreements they may open), one or two statements per report whatever
the number of agreements. Filters: kind, region, sector, owner (of the partner).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import aliased

from crm.extensions import db
from crm.lib import colourscale, countries, timeutil
from crm.models import Partner, User
from crm.models.agreement import LIVE_STATUSES, Agreement, AgreementReport, CodeCriterion
from crm.models.enums import (
    AGREEMENT_KINDS,
    CODE_CRITERIA,
    CODE_CRITERION_STATUSES,
    label,
)
from crm.services import access, reports
from crm.services.errors import ValidationError

VIEWS = {
    "expiring": "Expiring agreements",
    "compliance": "Reporting compliance",
    "code": "Code criteria",
}
#: the expiring view's default window, from today
DEFAULT_EXPIRING_DAYS = 90
#: the compliance view's default window, up to today
DEFAULT_COMPLIANCE_DAYS = 365
#: rows on the expiring page (the CSV has them all)
PAGE_LIMIT = 500
MAX_SPAN_DAYS = 3660


@dataclass(frozen=True)
class Filters:
    """The filter bar: a date window and the agreement/partner filters."""

    first: date
    last: date
    kind: str | None = None
    region: str | None = None
    sector: str | None = None
    owner_id: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str], view: str, today: date) -> Filters:
        """Read and check the query string; ValidationError names each bad field."""
        errors: dict[str, str] = {}
        if view == "compliance":
            first = today - timedelta(days=DEFAULT_COMPLIANCE_DAYS - 1)
            last = today
        else:
            first, last = today, today + timedelta(days=DEFAULT_EXPIRING_DAYS - 1)
        first = _date(args.get("start"), first, "start", errors)
        last = _date(args.get("end"), last, "end", errors)
        if not errors and last < first:
            errors["end"] = "The end date must not be before the start date."
        elif not errors and (last - first).days > MAX_SPAN_DAYS:
            errors["start"] = "Choose a period of at most ten years."
        kind = args.get("kind") or None
        if kind and kind not in AGREEMENT_KINDS:
            errors["kind"] = "Unknown kind of agreement."
        partner = reports.Filters()
        try:  # region, sector and owner: the same checks as every other report
            partner = reports.Filters.from_args(args)
        except ValidationError as exc:
            errors.update(exc.fields)
        region, sector, owner_id = partner.region, partner.sector, partner.owner_id
        if owner_id is not None and not 1 <= owner_id <= 2**31 - 1:
            errors["owner_id"] = "Unknown owner."
        if errors:
            raise ValidationError(errors)
        return cls(first, last, kind, region, sector, owner_id)

    def clause(self, *, with_kind: bool = True) -> ColumnElement[bool]:
        parts = [Partner.archived.is_(False)]
        if self.kind and with_kind:
            parts.append(Agreement.kind == self.kind)
        if self.region:
            parts.append(Partner.region == self.region)
        if self.sector:
            parts.append(Partner.sector == self.sector)
        if self.owner_id:
            parts.append(Partner.owner_id == self.owner_id)
        return and_(*parts)


def _date(value: str | None, default: date, name: str, errors: dict[str, str]) -> date:
    if not value:
        return default
    try:
        day = date.fromisoformat(value)
    except ValueError:
        errors[name] = "Enter a date as YYYY-MM-DD."
        return default
    if not 1900 <= day.year <= 2200:
        errors[name] = "Enter a date between 1900 and 2200."
    return day


def today_for(user: User, now: datetime | None = None) -> date:
    return timeutil.local_date(now or timeutil.now_utc(), user.timezone)


# --- agreements expiring in a period ------------------------------------------------

@dataclass
class ExpiringRow:
    id: int
    title: str
    kind: str
    status: str
    sensitivity: str
    partner_id: int
    partner_name: str
    country: str
    region: str
    sector: str
    owner: str | None
    expires_on: date
    days_left: int
    renewal_notice_days: int
    next_report_due_on: date | None


def expiring(user: User, filters: Filters, today: date,
             limit: int | None = PAGE_LIMIT) -> tuple[list[ExpiringRow], int]:
    """Live agreements expiring between `filters.first` and `filters.last` (soonest first),
    and how many there are in all. One statement (the partial index on live expiries)."""
    owner = aliased(User)
    stmt = access.visible_agreements(user, select(
        Agreement.id, Agreement.title, Agreement.kind, Agreement.status, Agreement.sensitivity,
        Partner.id, Partner.name, Partner.country, Partner.region, Partner.sector, owner.name,
        Agreement.expires_on, Agreement.renewal_notice_days, Agreement.next_report_due_on,
        func.count().over(),
    ).select_from(Agreement)).outerjoin(owner, owner.id == Partner.owner_id).where(
        Agreement.status.in_(LIVE_STATUSES), Agreement.expires_on >= filters.first,
        Agreement.expires_on <= filters.last, filters.clause(),
    ).order_by(Agreement.expires_on, Agreement.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows: list[ExpiringRow] = []
    total = 0
    for (aid, title, kind, status, sens, pid, pname, country, region, sector, owner_name,
         expires, notice, report, count) in db.session.execute(stmt):
        total = count
        rows.append(ExpiringRow(aid, title, kind, status, sens, pid, pname, country, region,
                                sector, owner_name, expires, (expires - today).days, notice,
                                report))
    return rows, int(total)


EXPIRING_HEADER = ["agreement_id", "title", "kind", "kind_label", "status", "sensitivity",
                   "partner_id", "partner", "country", "country_name", "region", "sector",
                   "sector_label", "owner", "expires_on", "days_left", "renewal_notice_days",
                   "next_report_due_on"]


def expiring_csv_rows(rows: list[ExpiringRow]) -> list[list]:
    return [[r.id, r.title, r.kind, label(r.kind), r.status, r.sensitivity, r.partner_id,
             r.partner_name, r.country, countries.country_name(r.country), r.region, r.sector,
             label(r.sector), r.owner or "", r.expires_on.isoformat(), r.days_left,
             r.renewal_notice_days,
             r.next_report_due_on.isoformat() if r.next_report_due_on else ""] for r in rows]


# --- reporting compliance --------------------------------------------------------------

@dataclass
class ComplianceRow:
    key: str
    label: str
    on_time: int = 0
    late: int = 0
    overdue: int = 0

    @property
    def due(self) -> int:
        return self.on_time + self.late + self.overdue

    @property
    def on_time_pct(self) -> float | None:
        return round(100 * self.on_time / self.due, 1) if self.due else None


@dataclass
class Compliance:
    by_kind: list[ComplianceRow] = field(default_factory=list)
    by_region: list[ComplianceRow] = field(default_factory=list)
    total: ComplianceRow = field(default_factory=lambda: ComplianceRow("total", "All"))


def compliance(user: User, filters: Filters, today: date) -> Compliance:
    """Reports due in the window: received on time (on or before the due date), received
    late, and still missing (live agreements whose next report was due in the window and
    before today), by kind and by region. Two statements."""
    received = access.visible_agreements(user, select(
        Agreement.kind, Partner.region,
        func.sum(case((AgreementReport.received_on <= AgreementReport.due_on, 1), else_=0)),
        func.sum(case((AgreementReport.received_on > AgreementReport.due_on, 1), else_=0)),
    ).select_from(AgreementReport).join(Agreement, Agreement.id == AgreementReport.agreement_id)
    ).where(
        AgreementReport.due_on >= filters.first, AgreementReport.due_on <= filters.last,
        filters.clause(),
    ).group_by(Agreement.kind, Partner.region)
    missing = access.visible_agreements(user, select(
        Agreement.kind, Partner.region, func.count(),
    ).select_from(Agreement)).where(
        Agreement.status.in_(LIVE_STATUSES), Agreement.next_report_due_on >= filters.first,
        Agreement.next_report_due_on <= filters.last, Agreement.next_report_due_on < today,
        filters.clause(),
    ).group_by(Agreement.kind, Partner.region)
    kinds: dict[str, ComplianceRow] = {}
    regions: dict[str, ComplianceRow] = {}
    result = Compliance()

    def rows_for(kind: str, region: str) -> list[ComplianceRow]:
        return [kinds.setdefault(kind, ComplianceRow(kind, label(kind))),
                regions.setdefault(region, ComplianceRow(region, region)), result.total]

    for kind, region, on_time, late in db.session.execute(received):
        for row in rows_for(kind, region):
            row.on_time += int(on_time or 0)
            row.late += int(late or 0)
    for kind, region, n in db.session.execute(missing):
        for row in rows_for(kind, region):
            row.overdue += int(n)
    result.by_kind = [kinds[k] for k in AGREEMENT_KINDS if k in kinds]
    result.by_region = sorted(regions.values(), key=lambda r: r.key)
    return result


COMPLIANCE_HEADER = ["group", "key", "label", "received_on_time", "received_late",
                     "overdue_not_received", "due", "on_time_pct"]


def compliance_csv_rows(data: Compliance) -> list[list]:
    return [[group, r.key, r.label, r.on_time, r.late, r.overdue, r.due,
             "" if r.on_time_pct is None else r.on_time_pct]
            for group, rows in (("kind", data.by_kind), ("region", data.by_region),
                                ("total", [data.total]))
            for r in rows]


# --- The Code's criteria ---------------------------------------------------------------

@dataclass
class CriteriaCompliance:
    members: int = 0
    #: criterion number → status → count (a criterion never recorded counts as not started)
    counts: dict[int, dict[str, int]] = field(default_factory=dict)
    all_met: int = 0

    @property
    def rows(self) -> list[tuple[int, str, dict[str, int]]]:
        return [(n, CODE_CRITERIA[n - 1], self.counts.get(n, {})) for n in range(1, 7)]

    def chart(self) -> dict:
        """The stacked bar's data: one series per status, one bar per criterion."""
        return {"labels": [f"{n}. {text[:40]}" for n, text, _ in self.rows],
                "series": [{"status": s, "label": label(s),
                            "data": [counts.get(s, 0) for _, _, counts in self.rows]}
                           for s in CODE_CRITERION_STATUSES]}


def code_criteria(user: User, filters: Filters) -> CriteriaCompliance:
    """The six criteria of the live Code memberships the reader may see, by status, and how
    many members meet all six. Two statements; a criterion never recorded (or recorded as
    not started) is "not started"."""
    live = access.visible_agreements(user, select(Agreement.id.label("aid")).select_from(
        Agreement)).where(Agreement.kind == "the_code", Agreement.status.in_(LIVE_STATUSES),
                          filters.clause(with_kind=False)).subquery()
    by_status = (select(CodeCriterion.number, CodeCriterion.status, func.count())
                 .join(live, live.c.aid == CodeCriterion.agreement_id)
                 .where(CodeCriterion.status != "not_started")
                 .group_by(CodeCriterion.number, CodeCriterion.status))
    met = (select(CodeCriterion.agreement_id, func.count().label("met"))
           .where(CodeCriterion.status == "met").group_by(CodeCriterion.agreement_id).subquery())
    members = (select(func.count(), func.sum(case((met.c.met >= 6, 1), else_=0)))
               .select_from(live).outerjoin(met, met.c.agreement_id == live.c.aid))
    result = CriteriaCompliance()
    count, all_met = db.session.execute(members).one()
    result.members, result.all_met = int(count or 0), int(all_met or 0)
    for number, state, n in db.session.execute(by_status):
        result.counts.setdefault(int(number), {})[state] = int(n)
    for number in range(1, 7):
        counts = result.counts.setdefault(number, {})
        counts["not_started"] = result.members - sum(counts.values())
    return result


CODE_HEADER = ["criterion", "text", *CODE_CRITERION_STATUSES, "members"]


def code_csv_rows(data: CriteriaCompliance) -> list[list]:
    return [[n, text, *(counts.get(s, 0) for s in CODE_CRITERION_STATUSES), data.members]
            for n, text, counts in data.rows]


# --- The Code members ------------------------------------------------------------------

@dataclass
class Member:
    agreement_id: int
    partner_id: int
    name: str
    country: str
    region: str
    met: int  #: criteria met, 0-6
    next_report_due_on: date | None
    overdue: bool


@dataclass
class CodeMembers:
    members: list[Member] = field(default_factory=list)
    by_region: list[tuple[str, int]] = field(default_factory=list)
    by_country: list[tuple[str, int]] = field(default_factory=list)

    @property
    def all_met(self) -> int:
        return sum(m.met >= 6 for m in self.members)

    @property
    def all_met_pct(self) -> float | None:
        return round(100 * self.all_met / len(self.members), 1) if self.members else None

    @property
    def overdue(self) -> int:
        return sum(m.overdue for m in self.members)

    def map_data(self) -> dict:
        """The dashboard map's data shape (static/js/dashboard.js `worldMap`): members per
        country, each country's fill from crm.lib.colourscale."""
        scale = colourscale.scale_for(n for _, n in self.by_country)
        return {"countries": [{"country": code, "name": countries.country_name(code),
                               "numeric": countries.numeric_code(code), "count": n,
                               "colour": scale.colour(n)} for code, n in self.by_country],
                "max": max((n for _, n in self.by_country), default=0),
                "none_colour": colourscale.NONE_COLOUR, "legend": scale.legend()}


def code_members(user: User, today: date) -> CodeMembers:
    """Member companies: partners with a signed or active agreement of kind `the_code` that
    the reader may see, with the criteria met and the next report; by country and region.
    One statement (criteria met are counted in a grouped subquery)."""
    met = (select(CodeCriterion.agreement_id, func.count().label("met"))
           .where(CodeCriterion.status == "met").group_by(CodeCriterion.agreement_id).subquery())
    stmt = access.visible_agreements(user, select(
        Agreement.id, Partner.id, Partner.name, Partner.country, Partner.region,
        func.coalesce(met.c.met, 0), Agreement.next_report_due_on,
    ).select_from(Agreement)).outerjoin(met, met.c.agreement_id == Agreement.id).where(
        Agreement.kind == "the_code", Agreement.status.in_(LIVE_STATUSES),
        Partner.archived.is_(False),
    ).order_by(Partner.name, Partner.id, Agreement.id)
    seen: dict[int, Member] = {}
    for aid, pid, name, country, region, n, due in db.session.execute(stmt):
        member = Member(aid, pid, name, country, region, int(n), due,
                        due is not None and due < today)
        if pid not in seen or member.met > seen[pid].met:  # one line per company
            seen[pid] = member
    result = CodeMembers(members=list(seen.values()))
    regions: dict[str, int] = {}
    by_country: dict[str, int] = {}
    for m in result.members:
        regions[m.region] = regions.get(m.region, 0) + 1
        by_country[m.country] = by_country.get(m.country, 0) + 1
    result.by_region = sorted(regions.items(), key=lambda kv: (-kv[1], kv[0]))
    result.by_country = sorted(by_country.items(), key=lambda kv: (-kv[1], kv[0]))
    return result
