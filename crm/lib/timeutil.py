"""The one place for time-zone arithmetic: stored UTC, shown and scheduled in the user's zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones


def now_utc() -> datetime:
    return datetime.now(UTC)


@cache
def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


@cache
def timezone_names() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z or z == "UTC")


def is_timezone(name: str | None) -> bool:
    return bool(name) and name in available_timezones()


def to_local(moment: datetime, tz: str | None) -> datetime:
    return moment.astimezone(zone(tz))


def local_to_utc(local: datetime, tz: str | None) -> datetime:
    """Interpret a naive local wall time in `tz` and convert it to UTC.

    Non-existent times (spring-forward gap) move forward; ambiguous ones take the first.
    """
    aware = local.replace(tzinfo=zone(tz), fold=0)
    roundtrip = aware.astimezone(UTC).astimezone(zone(tz))
    if roundtrip.replace(tzinfo=None) != local:  # inside a DST gap
        aware = (local + timedelta(hours=1)).replace(tzinfo=zone(tz))
    return aware.astimezone(UTC)


def local_day_at(day, hour: int, tz: str | None) -> datetime:
    """UTC instant of `hour`:00 local time on local date `day` in `tz`."""
    return local_to_utc(datetime.combine(day, time(hour=hour)), tz)


def local_date(moment: datetime, tz: str | None):
    return to_local(moment, tz).date()


def iso_local(moment: datetime | None, tz: str | None) -> str:
    """ISO 8601 in `tz` with its offset, to the second (`2026-12-02T08:05:00-05:00`), for CSV
    cells a spreadsheet or a script can read; "" for None."""
    if moment is None:
        return ""
    return to_local(moment, tz).isoformat(timespec="seconds")
