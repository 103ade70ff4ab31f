"""Flatten each report into CSV rows (formatting only; the numbers come from the service).

For people and programs alike: each code column (sector, stage, health, country) is followed
by its label, and times are ISO 8601 in the reader's zone with the offset, to the second.
Columns are only ever added, never renamed, so a script reading the file by header still works.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from crm.lib import countries, timeutil
from crm.models.enums import label
from crm.services.reports import Engagement, Period


def build(name: str, data: Any, period: Period,
          tz: str | None = None) -> tuple[list[str], list[list[Any]]]:
    """(header, rows) of report `name`, times in `tz` (the reader's zone)."""
    if name == "engagement":
        return _engagement(data, tz)
    if name == "silence":
        header = ["partner_id", "name", "sector", "sector_label", "country", "country_name",
                  "region", "stage", "stage_label", "owner", "last_interaction_at",
                  "days_silent", "health", "health_label"]
        return header, [[p.id, p.name, p.sector, label(p.sector), p.country,
                         countries.country_name(p.country), p.region, p.stage, label(p.stage),
                         p.owner, timeutil.iso_local(p.last_interaction_at, tz), p.days_silent,
                         p.health, label(p.health)] for p in data]
    if name == "followups":
        header = ["group", "key", "label", "completed_on_time", "completed_late",
                  "still_overdue", "open_not_yet_due", "on_time_pct"]
        return header, [[group, r.key, r.label, r.on_time, r.late, r.overdue, r.open,
                         r.on_time_pct] for group, rows in data.items() for r in rows]
    return _coverage(data)


def filename(name: str, period: Period, tz: str | None, today: date) -> str:
    """`report-engagement-20260904-20261202.csv`: the first and last day shown on the page, in
    the reader's zone; reports without a period carry the reader's date of today."""
    if name in ("engagement", "followups"):
        return f"report-{name}-{period.first_day(tz):%Y%m%d}-{period.last_day(tz):%Y%m%d}.csv"
    return f"report-{name}-{today:%Y%m%d}.csv"


def _engagement(data: Engagement, tz: str | None) -> tuple[list[str], list[list[Any]]]:
    # period_start / period_end: the instants (end excluded); first_day / last_day: the local
    # days both included, as the page shows them
    header = ["dimension", "key", "label", "period_start", "period_end", "interactions",
              "previous_period", "change", "change_pct", "first_day", "last_day"]
    period = data.period
    start, end = timeutil.iso_local(period.start, tz), timeutil.iso_local(period.end, tz)
    first, last = period.first_day(tz).isoformat(), period.last_day(tz).isoformat()
    rows = [[dim, r.key, r.label, start, end, r.current, r.previous, r.change, r.change_pct,
             first, last] for dim, items in data.by.items() for r in items]
    return header, rows


def _coverage(data: dict) -> tuple[list[str], list[list[Any]]]:
    """The matrix (a column per sector code; its label in the second table), then the gaps:
    one row per sector with its code, label, and the countries' codes and names."""
    header = ["region", *[s["sector"] for s in data["sectors"]], "total"]
    rows: list[list[Any]] = [[region, *cells, total] for region, cells, total in zip(
        data["regions"], data["cells"], data["row_totals"], strict=True)]
    rows.append(["total", *data["col_totals"], sum(data["col_totals"])])
    rows.append([])
    rows.append(["sector", "sector_label", "countries_without_live_partner",
                 "country_names"])
    for gap in data["gaps"]:
        rows.append([gap["sector"], label(gap["sector"]), "; ".join(gap["countries"]),
                     "; ".join(countries.country_name(c) for c in gap["countries"])])
    return header, rows
