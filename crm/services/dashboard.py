"""Dashboard data: my work lists and the chart series, each in one SQL statement.

Every query is scoped by crm.services.access, so counts never reveal a record the user
may not see. Chart series are plain JSON-able dicts; the views serialise them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import String, and_, cast, exists, func, or_, select, union_all
from sqlalchemy.orm import joinedload
from sqlalchemy.sql import ColumnElement

from crm.extensions import db
from crm.lib import cache, colourscale, countries, timeutil
from crm.models import (
    FollowUp,
    Interaction,
    InteractionMonthCount,
    Partner,
    User,
    interaction_staff,
)
from crm.models.enums import HEALTH_STATES, SECTORS, STAGES, label
from crm.services import access, engagement

RECENT_LIMIT = 8
ATTENTION_LIMIT = 6
#: "active partners" in the coverage matrix: stages where the relationship is live
COVERAGE_STAGES = ("agreement", "active")
#: the coverage matrix's column headers: one word each, so no header wraps (let alone inside
#: a word) on a phone; the full label is the header's title and what screen readers read
SECTOR_SHORT = {
    "law_enforcement": "Law enf.",
    "technology": "Tech",
    "travel_tourism": "Travel",
    "government": "Gov't",
    "intergovernmental": "IGO",
    "civil_society": "Civil soc.",
    "faith_based": "Faith",
    "private_sector": "Private",
}
#: seconds the interactions-per-month chart is reused (the page says "updated every 5 minutes")
MONTHLY_TTL = 300


def month_key(column) -> ColumnElement[str]:
    """'YYYY-MM' of a UTC timestamp column, on PostgreSQL and SQLite alike."""
    if db.engine.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return cast(func.strftime("%Y-%m", column), String)


def date_month_key(column) -> ColumnElement[str]:
    """'YYYY-MM' of a DATE column (a month's first day), on PostgreSQL and SQLite alike."""
    if db.engine.dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return cast(func.strftime("%Y-%m", column), String)


def last_months(now: datetime, count: int = 12) -> list[str]:
    """The `count` month keys ending with the month of `now`, oldest first."""
    year, month = now.year, now.month
    keys = []
    for _ in range(count):
        keys.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return keys[::-1]


def month_start(key: str) -> datetime:
    """The UTC instant a 'YYYY-MM' month begins."""
    year, month = (int(p) for p in key.split("-"))
    return datetime(year, month, 1, tzinfo=UTC)


@dataclass
class MyWork:
    overdue: list[FollowUp]
    today: list[FollowUp]


def my_follow_ups(user: User, now: datetime | None = None) -> MyWork:
    """My open follow-ups that are overdue or due before the end of my local today."""
    now = now or timeutil.now_utc()
    end_of_today = timeutil.local_day_at(
        timeutil.local_date(now, user.timezone) + timedelta(days=1), 0, user.timezone)
    stmt = (
        access.visible_follow_ups(user)
        .where(FollowUp.assignee_id == user.id, FollowUp.status == "open",
               FollowUp.due_at < end_of_today,
               or_(FollowUp.snoozed_until.is_(None), FollowUp.snoozed_until <= now))
        .options(joinedload(FollowUp.partner))
        .order_by(FollowUp.due_at)
        .limit(200)
    )
    rows = db.session.scalars(stmt).unique().all()
    return MyWork(overdue=[f for f in rows if f.due_at < now],
                  today=[f for f in rows if f.due_at >= now])


def my_recent_interactions(user: User, limit: int = RECENT_LIMIT) -> list[Interaction]:
    """Interactions I logged or took part in, newest first."""
    took_part = exists().where(interaction_staff.c.interaction_id == Interaction.id,
                               interaction_staff.c.user_id == user.id)
    stmt = (
        access.visible_interactions(user)
        .where(or_(Interaction.logged_by_id == user.id, took_part))
        .options(joinedload(Interaction.partner))
        .order_by(Interaction.occurred_at.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt).unique())


def _mine(user: User) -> ColumnElement[bool]:
    return and_(Partner.owner_id == user.id, Partner.archived.is_(False))


def my_health(user: User, now: datetime | None = None,
              thresholds: engagement.Thresholds = engagement.DEFAULT) -> dict[str, int]:
    """How many of my partners are new, engaged, cooling, lapsed (one statement)."""
    now = now or timeutil.now_utc()
    last_seen = access.last_interaction_seen(user)
    columns = [func.count().filter(engagement.health_clause(state, now, thresholds,
                                                            last=last_seen))
               for state in HEALTH_STATES]
    row = db.session.execute(access.visible_partners(user, select(*columns)).select_from(Partner)
                             .where(_mine(user))).one()
    return dict(zip(HEALTH_STATES, (int(v or 0) for v in row), strict=True))


def my_needing_attention(user: User, now: datetime | None = None,
                         thresholds: engagement.Thresholds = engagement.DEFAULT,
                         limit: int = ATTENTION_LIMIT) -> list[tuple[Partner, str]]:
    """My cooling/lapsed partners, longest silence first, with their health."""
    now = now or timeutil.now_utc()
    last_seen = access.last_interaction_seen(user)
    quiet = or_(engagement.health_clause("cooling", now, thresholds, last=last_seen),
                engagement.health_clause("lapsed", now, thresholds, last=last_seen))
    stmt = (access.visible_partners(user).where(_mine(user), quiet)
            .order_by(last_seen.asc().nulls_first(), Partner.id).limit(limit))
    return [(p, engagement.health_of(p, now, thresholds)) for p in db.session.scalars(stmt)]


def interactions_by_month(user: User, now: datetime | None = None) -> dict:
    """Interactions per month (UTC) for the last 12 months, one series per sector.

    Cached for MONTHLY_TTL seconds (the aggregate reads ~200k rows at scale M). Admins see
    everything, so they share one entry; everyone else's entry is their own (visibility
    depends on role, region, ownership and collaboration). An explicit `now` bypasses it.
    """
    if now is not None:
        return _interactions_by_month(user, now)
    now = timeutil.now_utc()
    scope = "admin" if user.role == "admin" else ("user", user.id, user.role)
    key = ("dashboard.interactions_by_month", scope, last_months(now, 1)[0])
    return cache.get_or_compute(key, MONTHLY_TTL, lambda: _interactions_by_month(user, now))


def _interactions_by_month(user: User, now: datetime) -> dict:
    """One statement: the interactions and, for months retention has reached, the monthly
    counts of the deleted ones (both scoped by access; months are UTC months in both)."""
    months = last_months(now)
    key = month_key(Interaction.occurred_at)
    live = (access.visible_interactions(user, select(key, Partner.sector, func.count()))
            .where(Interaction.occurred_at >= month_start(months[0]))
            .group_by(key, Partner.sector))
    deleted_key = date_month_key(InteractionMonthCount.month)
    deleted = (access.visible_month_counts(user, select(
        deleted_key, Partner.sector, func.sum(InteractionMonthCount.count)))
        .where(InteractionMonthCount.month >= month_start(months[0]).date())
        .group_by(deleted_key, Partner.sector))
    counts: dict[tuple[str, str], int] = {}
    for m, s, n in db.session.execute(union_all(live, deleted)):
        counts[(m, s)] = counts.get((m, s), 0) + int(n or 0)
    series = [
        {"sector": sector, "label": label(sector),
         "data": [int(counts.get((m, sector), 0)) for m in months]}
        for sector in SECTORS
    ]
    return {"months": months, "series": [s for s in series if any(s["data"])]}


def partners_by_stage(user: User) -> dict:
    """Count of visible, non-archived partners per stage (all stages, zeros included)."""
    stmt = (access.visible_partners(user, select(Partner.stage, func.count()))
            .where(Partner.archived.is_(False)).group_by(Partner.stage))
    counts = dict(db.session.execute(stmt).all())
    return {"stages": [{"stage": s, "label": label(s), "count": int(counts.get(s, 0))}
                       for s in STAGES]}


def coverage_matrix(user: User, extra: ColumnElement[bool] | None = None, *,
                    region: str | None = None, sector: str | None = None) -> dict:
    """Region × sector counts of live partners (stage agreement/active), zeros included.

    `region` / `sector` narrow the rows / columns to that one (a report's filters): a matrix
    filtered to the Americas lists the Americas only, not the other regions as zeros.
    """
    stmt = (access.visible_partners(user, select(Partner.region, Partner.sector, func.count()))
            .where(Partner.archived.is_(False), Partner.stage.in_(COVERAGE_STAGES))
            .group_by(Partner.region, Partner.sector))
    if extra is not None:
        stmt = stmt.where(extra)
    if region:
        stmt = stmt.where(Partner.region == region)
    if sector:
        stmt = stmt.where(Partner.sector == sector)
    counts = {(r, s): int(n) for r, s, n in db.session.execute(stmt)}
    if region:
        regions = [region]
    else:
        regions = sorted({r for r in countries.regions() if r != "Antarctic"}
                         | {r for r, _ in counts})
    sectors = [sector] if sector else list(SECTORS)
    return {
        "regions": regions,
        "sectors": [{"sector": s, "label": label(s), "short": SECTOR_SHORT.get(s, label(s))}
                    for s in sectors],
        "cells": [[counts.get((r, s), 0) for s in sectors] for r in regions],
        "row_totals": [sum(counts.get((r, s), 0) for s in sectors) for r in regions],
        "col_totals": [sum(counts.get((r, s), 0) for r in regions) for s in sectors],
        "stages": list(COVERAGE_STAGES),
    }


def country_counts(user: User) -> dict:
    """Visible, non-archived partners per country, with the ISO numeric code for the map and
    each country's fill (crm.lib.colourscale: grey for none, distinct blues from 1)."""
    stmt = (access.visible_partners(user, select(Partner.country, func.count()))
            .where(Partner.archived.is_(False)).group_by(Partner.country)
            .order_by(func.count().desc(), Partner.country))
    rows = [(code, int(n)) for code, n in db.session.execute(stmt)]
    scale = colourscale.scale_for(n for _, n in rows)
    items = [
        {"country": code, "name": countries.country_name(code),
         "numeric": countries.numeric_code(code), "count": n, "colour": scale.colour(n)}
        for code, n in rows
    ]
    return {"countries": items, "max": max((n for _, n in rows), default=0),
            "none_colour": colourscale.NONE_COLOUR, "legend": scale.legend()}

