"""Shared steps of the chaos tests: the ledger's state, the stuck-row requeue, a seed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from sqlalchemy import func, insert, select

from crm.celery_app import SEND_TASK, enqueue_many
from crm.extensions import db
from crm.lib import timeutil
from crm.models import Delivery, FollowUp, User
from crm.services import deliveries
from tests.reminders.helpers import local
from tests.support.factories import make_partner, password_hash
from tests.support.wait import wait_until

#: the due day of every seeded follow-up, and the sweep moment that reminds them
DAY = (2025, 9, 17)
SWEEP_AT = local("UTC", *DAY, 8, 0)


def statuses() -> Counter:
    db.session.expire_all()
    return Counter(dict(db.session.execute(
        select(Delivery.status, func.count()).group_by(Delivery.status)).all()))


def seed(count: int, prefix: str) -> list[str]:
    """`count` users (UTC), each with one follow-up due on DAY: one email each at SWEEP_AT."""
    db.session.execute(insert(User), [
        {"email": f"{prefix}{n}@example.org", "name": f"{prefix.title()} {n}", "role": "staff",
         "timezone": "UTC", "password_hash": password_hash()} for n in range(count)])
    users = db.session.scalars(select(User).where(User.email.startswith(prefix))
                               .order_by(User.id)).all()
    partner = make_partner(owner=users[0])
    db.session.execute(insert(FollowUp), [
        {"title": f"Chaos task {u.id}", "partner_id": partner.id, "assignee_id": u.id,
         "due_at": local("UTC", *DAY, 12, 0), "status": "open", "version": 1}
        for u in users])
    db.session.commit()
    return [u.email for u in users]


class Requeuer:
    """The stuck-row half of the reminder sweep (`crm.jobs.run_reminder_sweep`), alone.

    Each call pretends one more `DELIVERY_STUCK_MINUTES` (+1) went by, so every row still
    `queued` or `sending` is enqueued again (a killed worker's task is gone with it). The
    reminder half is left out on purpose: the clock jumps must not ledger new reminders.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.calls = 0
        self.requeued = 0

    def __call__(self) -> int:
        self.calls += 1
        minutes = int(self.app.config["DELIVERY_STUCK_MINUTES"]) + 1
        now = timeutil.now_utc() + timedelta(minutes=minutes * self.calls)
        stuck = deliveries.requeue_stuck(now, minutes - 1)
        db.session.commit()
        enqueue_many(self.app, SEND_TASK, [[ids] for ids in stuck])
        count = sum(len(ids) for ids in stuck)
        self.requeued += count
        return count


def until_all_sent(requeue: Requeuer, queue_length: Callable[[], int], expected: int,
                   describe: Callable[[], str], timeout: float = 180) -> None:
    """Wait until `expected` rows are `sent`. Whenever the broker's queue is empty and the
    ledger did not move for one poll, what is left was lost with a killed worker or a
    failed task: the stuck-row requeue enqueues it again (as the next sweep would)."""
    seen: list[Counter] = []

    def all_sent() -> bool:
        now = statuses()
        if now["sent"] == expected:
            return True
        if queue_length() == 0 and seen and seen[-1] == now:
            requeue()
        seen.append(now)
        return False

    wait_until(all_sent, timeout=timeout, interval=1.0,
               message=lambda: f"{expected} sent: {statuses()}\n{describe()}")
