"""When a digest is due: periods in the user's zone, who is due, their ledger rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from crm.extensions import db
from crm.lib import timeutil
from crm.models import Delivery, User
from crm.services import deliveries

#: weekday names, Monday first (`User.digest_weekday` indexes them)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


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
