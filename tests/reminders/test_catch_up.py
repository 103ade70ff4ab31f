"""Reminders are never dropped (issue 14, part 1): late follow-ups, beat outages, re-arming.

The rule: every open follow-up gets exactly one overdue reminder once it is overdue and
exactly one escalation once it is ESCALATION_DAYS overdue, at the first sweep at or after
that moment; the due-day reminder is skipped when it is already overdue when first seen.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import insert, text

from crm.jobs import run_reminder_sweep as run_sweep
from crm.models import FollowUp
from crm.services import followups, reminders
from tasks.delivery import deliver
from tests.reminders.helpers import local, rows, smtp_config
from tests.reminders.smtp import SMTPServer

ZONES = ("Europe/Paris", "America/New_York", "Asia/Tokyo")


def _kinds(db, follow_up_id: int) -> Counter:
    return Counter((r.kind, r.recipient_id) for r in rows(db)
                   if r.payload["follow_up_id"] == follow_up_id)


def _sweeps(app, start, days: int, step=timedelta(hours=1)) -> None:
    moment = start
    while moment < start + timedelta(days=days):
        run_sweep(app, moment)
        moment += step


def test_entered_4_and_12_days_overdue_reminded_and_escalated_once_due_day_skipped(
        app, db, make):
    owner = make.make_user(timezone="UTC")
    assignee = make.make_user(timezone="America/New_York")
    partner = make.make_partner(owner=owner)
    now = local("UTC", 2025, 6, 20, 15, 30)  # not 08:00 anywhere: nothing waits for a morning
    four = make.make_follow_up(partner, assignee, due_at=now - timedelta(days=4))
    twelve = make.make_follow_up(partner, assignee, due_at=now - timedelta(days=12))
    db.session.commit()

    first = run_sweep(app, now)
    assert (first["inserted"], first["emails"]) == (3, 2)
    assert _kinds(db, four.id) == Counter({("reminder_overdue", assignee.id): 1})
    assert _kinds(db, twelve.id) == Counter({("reminder_overdue", assignee.id): 1,
                                             ("reminder_escalation", owner.id): 1})
    # the assignee's one email lists both overdue follow-ups
    assert len({r.batch_key for r in rows(db, recipient_id=assignee.id)}) == 1

    # every three hours for ten days: the 4-day one escalates once, at its moment; nothing else
    _sweeps(app, now + timedelta(minutes=1), days=10, step=timedelta(hours=3))
    assert _kinds(db, four.id) == Counter({("reminder_overdue", assignee.id): 1,
                                           ("reminder_escalation", owner.id): 1})
    [late] = [r for r in rows(db, kind="reminder_escalation")
              if r.payload["follow_up_id"] == four.id]
    moment = reminders.schedule(four.due_at, assignee.timezone, 8, 7).escalation
    assert late.batch_key == reminders.batch_key(owner.id, _first_sweep_at_or_after(
        moment, now + timedelta(minutes=1), timedelta(hours=3)))
    assert _kinds(db, twelve.id) == Counter({("reminder_overdue", assignee.id): 1,
                                             ("reminder_escalation", owner.id): 1})
    assert not [r for r in rows(db) if r.kind == "reminder_due"]


def _first_sweep_at_or_after(moment, start, step):
    sweep = start
    while sweep < moment:
        sweep += step
    return sweep


def test_beat_stopped_five_days_in_three_zones_one_email_per_recipient_then_nothing(
        app, db, make, monkeypatch):
    owner = make.make_user(timezone="UTC", email="owner@example.org")
    partner = make.make_partner(owner=owner)
    staff = [make.make_user(timezone=tz, email=f"staff{i}@example.org")
             for i, tz in enumerate(ZONES)]
    stopped = local("UTC", 2025, 3, 1, 0, 0)
    # due in the week before the outage (reminded then; their escalation falls inside it)
    # and every day of the outage, at three local hours, in each assignee's zone
    db.session.execute(insert(FollowUp), [
        {"title": f"Task {u.id} {day} {hour}", "partner_id": partner.id, "assignee_id": u.id,
         "due_at": local(u.timezone, 2025, 2, 28, hour, 0) + timedelta(days=day),
         "status": "open", "version": 1}
        for u in staff for day in range(-4, 7) for hour in (7, 12, 18)])
    db.session.commit()
    _sweeps(app, stopped - timedelta(days=6), days=6, step=timedelta(hours=6))
    before = {r.id for r in rows(db)}
    sent_before = {(r.payload["follow_up_id"], r.kind, r.recipient_id) for r in rows(db)}
    assert before and not [r for r in rows(db) if r.kind == "reminder_escalation"]

    back = stopped + timedelta(days=5, hours=10)  # one sweep after five days without a beat
    result = run_sweep(app, back)
    fresh = [r for r in rows(db) if r.id not in before]
    by_recipient = defaultdict(set)
    for row in fresh:
        by_recipient[row.recipient_id].add(row.batch_key)
    assert set(by_recipient) == {owner.id, *(u.id for u in staff)}
    assert all(len(keys) == 1 for keys in by_recipient.values()), "more than one email"
    assert result["emails"] == 4 and result["inserted"] == len(fresh)
    counts = Counter((r.payload["follow_up_id"], r.kind, r.recipient_id) for r in rows(db))
    assert set(counts.values()) == {1}, "a reminder ledgered twice"
    # what each follow-up is owed at `back`, by its own zone's mornings: all of it, once
    expected = set()
    for fu in db.session.query(FollowUp).filter(FollowUp.partner_id == partner.id):
        tz = next(u.timezone for u in staff if u.id == fu.assignee_id)
        moments = reminders.schedule(fu.due_at, tz, 8, 7)
        reached = sum(m <= back for m in (moments.due, moments.overdue, moments.escalation))
        if reached == 1:
            expected.add((fu.id, "reminder_due", fu.assignee_id))
        if reached >= 2:
            expected.add((fu.id, "reminder_overdue", fu.assignee_id))
        if reached == 3:
            expected.add((fu.id, "reminder_escalation", owner.id))
    # (the due-day reminders sent before the outage stay: the sweep did see those in time)
    assert set(counts) == expected | sent_before
    assert {r.kind for r in fresh} == set(reminders.KINDS)  # the recovery sends all three

    for later in (back, back + timedelta(minutes=1), back + timedelta(minutes=15)):
        assert run_sweep(app, later)["inserted"] == 0
    with SMTPServer() as smtp:
        smtp_config(app, monkeypatch, smtp)
        for key in {r.batch_key for r in fresh}:
            deliver([r.id for r in fresh if r.batch_key == key], app.config)
    assert len(smtp.handler.messages) == 4
    for user in (owner, *staff):
        [message] = smtp.handler.for_recipient(user.email)
        listed = message.get_payload()[0].get_payload(decode=True).decode()
        owed = [r for r in fresh if r.recipient_id == user.id]
        assert listed.count("/partners/") == len(owed), user.email  # one link per item


def test_snooze_and_reschedule_rearm_after_everything_was_sent(app, db, make):
    owner = make.make_user(timezone="UTC")
    user = make.make_user(timezone="Asia/Tokyo")
    partner = make.make_partner(owner=owner)
    snoozed = make.make_follow_up(partner, user, due_at=local("Asia/Tokyo", 2025, 6, 1, 9, 0))
    moved = make.make_follow_up(partner, user, due_at=local("Asia/Tokyo", 2025, 6, 1, 9, 0))
    db.session.commit()
    now = local("Asia/Tokyo", 2025, 6, 12, 10, 0)
    run_sweep(app, now)  # both: overdue + escalation (first seen 11 days late)
    assert len(rows(db)) == 4

    followups.snooze_for(user, snoozed, 3, now=now)  # due 15 June, 09:00 Tokyo
    followups.reschedule(user, moved, local("Asia/Tokyo", 2025, 6, 10, 9, 0))  # still overdue
    db.session.commit()
    run_sweep(app, now + timedelta(minutes=5))
    assert _kinds(db, moved.id)[("reminder_overdue", user.id)] == 2  # one per due time
    assert _kinds(db, snoozed.id)[("reminder_due", user.id)] == 0  # quiet until its day
    run_sweep(app, local("Asia/Tokyo", 2025, 6, 15, 8, 0))
    run_sweep(app, local("Asia/Tokyo", 2025, 6, 16, 8, 0))
    run_sweep(app, local("Asia/Tokyo", 2025, 6, 17, 8, 0))
    assert _kinds(db, snoozed.id) == Counter({
        ("reminder_overdue", user.id): 2, ("reminder_escalation", owner.id): 1,
        ("reminder_due", user.id): 1})
    run_sweep(app, local("Asia/Tokyo", 2025, 6, 22, 8, 0))
    assert _kinds(db, snoozed.id)[("reminder_escalation", owner.id)] == 2
    assert _kinds(db, moved.id) == Counter({("reminder_overdue", user.id): 2,
                                            ("reminder_escalation", owner.id): 2})


@pytest.mark.parametrize("old", [20, 400])
def test_the_sweep_reads_only_pending_follow_ups_in_a_fixed_number_of_statements(
        app, db, make, count_queries, old):
    owner = make.make_user(role="admin", timezone="UTC")
    user = make.make_user(timezone="Europe/Paris")
    partner = make.make_partner(owner=owner)
    now = local("UTC", 2025, 6, 20, 9, 0)
    # old history: closed ones, and open ones long since reminded of everything
    db.session.execute(insert(FollowUp), [
        {"title": f"Old {n}", "partner_id": partner.id, "assignee_id": user.id,
         "due_at": now - timedelta(days=30 + n), "status": ("done", "cancelled", "open")[n % 3],
         "version": 1} for n in range(old)])
    db.session.commit()
    run_sweep(app, now - timedelta(days=1))
    for n in range(3):
        make.make_follow_up(partner, user, due_at=now - timedelta(days=2 + 4 * n))
    db.session.commit()
    db.session.expunge_all()
    with count_queries() as counter:
        result = reminders.sweep(now, hour=8, escalation_days=7)
    # candidates, escalation recipients, INSERT … ON CONFLICT, UPDATE of the markers, and the
    # agreement reminders' two tracks (crm.services.agreement_reminders; nothing owed here)
    assert len(counter.statements) == 6, counter.statements
    assert sum(map(len, result)) == 4  # 3 overdue + the 10-day one escalated (to the owner)
    # read next time: only the two whose escalation is still ahead, none of the history
    assert len(reminders._candidates(now)) == 2


@pytest.mark.postgres
def test_the_candidates_query_is_served_by_the_partial_index(app, db):
    stmt = reminders._candidates_stmt(local("UTC", 2025, 6, 20, 9, 0))
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(db.session.execute(text(f"EXPLAIN {sql}")).scalars())
    db.session.rollback()
    assert "ix_follow_ups_reminders_pending" in plan, plan
