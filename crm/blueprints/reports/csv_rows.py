"""Flatten each report into CSV rows (formatting only; the numbers come from the service)."""

from __future__ import annotations

from typing import Any

from crm.lib import countries
from crm.models.enums import label
from crm.services.reports import Engagement, Period


def build(name: str, data: Any, period: Period) -> tuple[list[str], list[list[Any]]]:
    if name == "engagement":
        return _engagement(data)
    if name == "silence":
        header = ["partner_id", "name", "sector", "country", "region", "stage", "owner",
                  "last_interaction_at", "days_silent", "health"]
        return header, [[p.id, p.name, p.sector, p.country, p.region, p.stage, p.owner,
                         p.last_interaction_at, p.days_silent, p.health] for p in data]
    if name == "followups":
        header = ["group", "key", "label", "completed_on_time", "completed_late",
                  "still_overdue", "open_not_yet_due", "on_time_pct"]
        return header, [[group, r.key, r.label, r.on_time, r.late, r.overdue, r.open,
                         r.on_time_pct] for group, rows in data.items() for r in rows]
    return _coverage(data)


def _engagement(data: Engagement) -> tuple[list[str], list[list[Any]]]:
    header = ["dimension", "key", "label", "period_start", "period_end", "interactions",
              "previous_period", "change", "change_pct"]
    rows = [[dim, r.key, r.label, data.period.start, data.period.end, r.current, r.previous,
             r.change, r.change_pct] for dim, items in data.by.items() for r in items]
    return header, rows


def _coverage(data: dict) -> tuple[list[str], list[list[Any]]]:
    header = ["region", *[s["sector"] for s in data["sectors"]], "total"]
    rows: list[list[Any]] = [[region, *cells, total] for region, cells, total in zip(
        data["regions"], data["cells"], data["row_totals"], strict=True)]
    rows.append(["total", *data["col_totals"], sum(data["col_totals"])])
    rows.append([])
    rows.append(["sector", "countries with partners but none live in this sector"])
    for gap in data["gaps"]:
        rows.append([label(gap["sector"]), "; ".join(
            f"{countries.country_name(c)} ({c})" for c in gap["countries"])])
    return header, rows
