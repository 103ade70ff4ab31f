"""The sweep: due periods in the user's zone, insert-or-ignore, idempotent beats, DST."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crm import jobs
from crm.celery_app import SEND_TASK
from crm.lib import timeutil
from crm.models import Delivery
from crm.services import deliveries, digests


def _keys(db) -> set[str]:
    return set(db.session.scalars(select(Delivery.dedupe_key).where(Delivery.kind == "digest")))


def test_weekly_default_is_monday_0800_local(app, db, make):
    user = make.make_user(timezone="Asia/Bangkok")  # UTC+7, no DST
    now = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Mon 08:00 Bangkok
    period = digests.period_for(user, now)
    assert period == digests.Period(datetime(2026, 11, 23, 1, tzinfo=UTC), now)
    just_before = digests.period_for(user, now - timedelta(seconds=1))
    assert just_before.end == datetime(2026, 11, 23, 1, tzinfo=UTC)


def test_weekday_hour_daily_and_off(app, db, make):
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # Thursday
    friday_17 = make.make_user(digest_weekday=4, digest_hour=17)
    assert digests.period_for(friday_17, now).end == datetime(2026, 11, 20, 17, tzinfo=UTC)
    daily = make.make_user(digest_frequency="daily", digest_hour=6)
    assert digests.period_for(daily, now) == digests.Period(
        datetime(2026, 11, 25, 6, tzinfo=UTC), datetime(2026, 11, 26, 6, tzinfo=UTC))
    off = make.make_user(digest_frequency="off")
    assert digests.period_for(off, now) is None
    due = {d.user_id for d in digests.due_digests(now)}
    assert due == {friday_17.id, daily.id}


def test_two_sweeps_ledger_one_digest_per_user_per_period(app, db, make):
    users = [make.make_user() for _ in range(3)]
    make.make_user(digest_frequency="off")
    make.make_user(active=False)
    now = datetime(2026, 11, 30, 8, 5, tzinfo=UTC)
    first = digests.sweep(now)
    db.session.commit()
    assert len(first) == 3
    assert digests.sweep(now) == []
    assert digests.sweep(now + timedelta(minutes=15)) == []
    db.session.commit()
    assert _keys(db) == {f"digest:{u.id}:2026-11-23T08:00:00+00:00" for u in users}
    row = db.session.scalar(select(Delivery).where(Delivery.recipient_id == users[0].id))
    assert row.payload == {"period_start": "2026-11-23T08:00:00+00:00",
                           "period_end": "2026-11-30T08:00:00+00:00"}
    assert row.status == "queued"


@pytest.mark.postgres
def test_two_beats_at_the_same_moment_ledger_each_digest_once(app, db, make):
    for _ in range(20):
        make.make_user()
    db.session.commit()
    now = datetime(2026, 11, 30, 8, 1, tzinfo=UTC)
    barrier = threading.Barrier(2)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def beat():
        try:
            with app.app_context():
                due = digests.due_digests(now)  # both see the same 20 as due
                assert len(due) == 20
                barrier.wait(timeout=30)
                ids = deliveries.insert_ignore(digests.ledger_rows(due))
                db.session.commit()
                results.append(ids)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a beat did not finish within 60 s"
    assert not errors, errors
    assert len(results) == 2, "both beats must finish"
    ledgered = results[0] + results[1]
    assert len(ledgered) == len(set(ledgered)) == 20, "a digest ledgered twice or lost"
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 20


def test_cli_sweep_digests_at(app, db, make):
    user = make.make_user(timezone="America/New_York")
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["crm", "sweep-digests", "--at", "2026-11-30T13:30:00+00:00"])
    assert result.exit_code == 0, result.output
    assert "1 digest(s) ledgered" in result.output
    # Mon 08:00 in New York is 13:00 UTC in November
    assert _keys(db) == {f"digest:{user.id}:2026-11-23T13:00:00+00:00"}
    again = runner.invoke(args=["crm", "sweep-digests", "--at", "2026-11-30T13:45"])
    assert "0 digest(s) ledgered" in again.output
    bad = runner.invoke(args=["crm", "sweep-digests", "--at", "next tuesday"])
    assert bad.exit_code != 0 and "ISO 8601" in bad.output


def _sent_to_broker(app, before: set[str]) -> list[str]:
    """The arguments of the send tasks the app's (embedded) broker received since `before`."""
    out = Path(app.config["BROKER_DIR"]) / "out"
    messages = [json.loads((out / name).read_text()) for name in sorted(
        set(p.name for p in out.iterdir()) - before)]
    return sorted(m["headers"]["argsrepr"] for m in messages
                  if m["headers"]["task"] == SEND_TASK)


def test_digest_sweep_job_commits_then_enqueues_one_task_per_digest(app, db, make):
    """crm.jobs.run_digest_sweep (the beat task's and the CLI's code): the ledger rows are
    committed, then every digest row reaches the broker by id, once; a second sweep adds
    nothing and enqueues nothing."""
    for _ in range(3):
        make.make_user(timezone="UTC")
    db.session.commit()
    out = Path(app.config["BROKER_DIR"]) / "out"
    out.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in out.iterdir()}
    now = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
    assert jobs.run_digest_sweep(app, now) == {"ledgered": 3, "enqueued": 3}
    db.session.rollback()  # what another connection sees: committed, not merely flushed
    ids = sorted(db.session.scalars(select(Delivery.id).where(Delivery.kind == "digest")))
    assert len(ids) == 3
    assert _sent_to_broker(app, before) == sorted(repr([[i]]) for i in ids)
    before = {p.name for p in out.iterdir()}
    assert jobs.run_digest_sweep(app, now + timedelta(minutes=15)) == {
        "ledgered": 0, "enqueued": 0}
    assert _sent_to_broker(app, before) == []


def _beats(db, start: datetime, end: datetime) -> dict[str, datetime]:
    """Run the sweep every 15 minutes from `start` to `end`: key → beat that ledgered it."""
    seen = _keys(db)
    first_seen: dict[str, datetime] = {}
    now = start
    while now <= end:
        digests.sweep(now)
        for key in _keys(db) - seen:
            first_seen[key] = now
        seen = _keys(db)
        now += timedelta(minutes=15)
    db.session.commit()
    return first_seen


@pytest.mark.parametrize(("label", "start"), [
    ("spring forward (29 Mar 2026)", datetime(2026, 3, 27, 0, 0, tzinfo=UTC)),
    ("fall back (25 Oct 2026)", datetime(2026, 10, 23, 0, 0, tzinfo=UTC)),
])
def test_weekly_and_daily_digests_arrive_at_local_0800_across_dst(app, db, make, label, start):
    paris = make.make_user(timezone="Europe/Paris")
    daily = make.make_user(timezone="Europe/Paris", digest_frequency="daily")
    ny = make.make_user(timezone="America/New_York", digest_weekday=6, digest_hour=7)
    digests.sweep(start)  # the periods that ended before the window
    db.session.commit()
    arrived = _beats(db, start, start + timedelta(days=4))

    def local(moment, user):
        return timeutil.to_local(moment, user.timezone)

    weekly = [at for key, at in arrived.items() if key.startswith(f"digest:{paris.id}:")]
    assert len(weekly) == 1, label
    assert (local(weekly[0], paris).weekday(), local(weekly[0], paris).strftime("%H:%M")) == (
        0, "08:00")
    days = sorted(at for key, at in arrived.items() if key.startswith(f"digest:{daily.id}:"))
    assert len(days) == 4, label
    assert {local(at, daily).strftime("%H:%M") for at in days} == {"08:00"}
    # every daily period starts where the previous one ended, whatever the UTC offset did
    starts = sorted(k.split(":", 2)[2] for k in arrived if k.startswith(f"digest:{daily.id}:"))
    assert all(local(datetime.fromisoformat(s), daily).hour == 8 for s in starts)
    sunday = [at for key, at in arrived.items() if key.startswith(f"digest:{ny.id}:")]
    assert len(sunday) == 1
    assert local(sunday[0], ny).strftime("%a %H:%M") == "Sun 07:00"


def test_the_week_containing_a_dst_change_is_not_168_hours(app, db, make):
    paris = make.make_user(timezone="Europe/Paris")
    autumn = digests.period_for(paris, datetime(2026, 10, 26, 12, tzinfo=UTC))
    assert autumn.end - autumn.start == timedelta(hours=169)
    spring = digests.period_for(paris, datetime(2026, 3, 30, 12, tzinfo=UTC))
    assert spring.end - spring.start == timedelta(hours=167)
    assert digests.previous_start(paris, spring) == datetime(2026, 3, 16, 7, tzinfo=UTC)
