"""The periodic jobs, shared by the worker (tasks/), the CLI (crm/commands/) and anything else.

Each job is one unit of work: the services flush the ledger rows, the job commits once,
and only then enqueues one send task per email (the broker never hears of a row the
database does not hold). Run by a task, that commit is a deliberate one inside the task's
unit of work (crm/celery_app.py), which then has nothing left to commit. If the broker
is down the rows wait; the next reminder sweep re-enqueues rows left `queued` or
`sending` (for every kind of email). No click, no request here: callers parse their
own input (`parse_moment` for an ISO time).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask

from crm.celery_app import SEND_TASK, enqueue_many
from crm.extensions import db
from crm.lib import timeutil
from crm.services import deliveries, digests, reminders


def parse_moment(value: str | None) -> datetime | None:
    """An ISO 8601 time in UTC (a naive one is taken as UTC); None for no value.

    Raises ValueError for anything else (the CLI turns it into a usage error).
    """
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def run_reminder_sweep(app: Flask, now: datetime | None = None) -> dict[str, int]:
    """Requeue stuck rows, insert the reminders due at `now`, commit, then enqueue one task
    per email (one producer for them all).

    Stuck rows are selected first so the rows inserted now are never mistaken for them.
    """
    now = now or timeutil.now_utc()
    config = app.config
    stuck = deliveries.requeue_stuck(now, int(config["DELIVERY_STUCK_MINUTES"]))
    fresh = reminders.sweep(now, hour=int(config["REMINDER_HOUR"]),
                            escalation_days=int(config["ESCALATION_DAYS"]))
    db.session.commit()  # the ledger holds the work before the broker hears of it
    accepted = enqueue_many(app, SEND_TASK, [[ids] for ids in stuck + fresh])
    return {"inserted": sum(len(ids) for ids in fresh), "emails": len(fresh),
            "requeued": sum(len(ids) for ids in stuck), "enqueued": accepted,
            "not_enqueued": len(stuck) + len(fresh) - accepted}


def run_digest_sweep(app: Flask, now: datetime | None = None) -> dict[str, int]:
    """Ledger the digests whose period ended by `now`, commit, then enqueue one task per
    digest (one producer for them all, as the reminder sweep does)."""
    ids = digests.sweep(now or timeutil.now_utc())
    db.session.commit()  # the ledger holds the work before the broker hears of it
    accepted = enqueue_many(app, SEND_TASK, [[[delivery_id]] for delivery_id in ids])
    return {"ledgered": len(ids), "enqueued": accepted}
