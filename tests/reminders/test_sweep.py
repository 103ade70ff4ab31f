"""The reminder sweep in-process: what is due when, batching, re-arming, DST, secrecy."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest

from crm.jobs import run_reminder_sweep as run_sweep
from crm.models import Delivery
from crm.services import followups, reminders
from tasks.delivery import deliver
from tests.reminders.helpers import local, rows, smtp_config
from tests.reminders.smtp import SMTPServer

PARIS = "Europe/Paris"


def _sweep(now):
    return reminders.sweep(now, hour=8, escalation_days=7)


def test_due_reminder_fires_at_eight_local_on_the_due_day(db, make):
    user = make.make_user(timezone=PARIS)
    partner = make.make_partner(owner=user)
    fu = make.make_follow_up(partner, user, due_at=local(PARIS, 2025, 6, 10, 15, 0))
    db.session.commit()
    assert _sweep(local(PARIS, 2025, 6, 10, 7, 59)) == []
    batches = _sweep(local(PARIS, 2025, 6, 10, 8, 0))
    assert len(batches) == 1
    row = db.session.get(Delivery, batches[0][0])
    assert row.kind == "reminder_due" and row.recipient_id == user.id
    assert row.dedupe_key == f"reminder:{fu.id}:reminder_due:{fu.due_at.isoformat()}"
    assert _sweep(local(PARIS, 2025, 6, 10, 8, 1)) == []  # the dedupe key holds
    overdue = _sweep(local(PARIS, 2025, 6, 11, 8, 0))
    assert [db.session.get(Delivery, i).kind for i in overdue[0]] == ["reminder_overdue"]


def test_done_cancelled_and_snoozed_get_nothing_and_snoozing_rearms(db, make):
    user = make.make_user(timezone="UTC")
    partner = make.make_partner(owner=user)
    due = local("UTC", 2025, 6, 10, 12, 0)
    make.make_follow_up(partner, user, due_at=due, status="done")
    make.make_follow_up(partner, user, due_at=due, status="cancelled")
    snoozed = make.make_follow_up(partner, user, due_at=due,
                                  snoozed_until=local("UTC", 2025, 6, 20, 9, 0))
    moved = make.make_follow_up(partner, user, due_at=due)
    db.session.commit()
    now = local("UTC", 2025, 6, 10, 8, 0)
    batches = _sweep(now)
    assert [db.session.get(Delivery, i).payload["follow_up_id"] for i in batches[0]] == [moved.id]
    moved.due_at = local("UTC", 2025, 6, 13, 9, 0)  # rescheduled: the reminders re-arm
    snoozed.due_at = snoozed.snoozed_until
    db.session.commit()
    assert _sweep(now + timedelta(minutes=1)) == []
    later = _sweep(local("UTC", 2025, 6, 13, 8, 0))
    assert len(later) == 1 and len(later[0]) == 1
    # the snoozed one, re-armed; the moved one's overdue reminder, late but not dropped
    # (no sweep ran at its moment; its escalation has no one to go to: no manager or admin)
    late = [db.session.get(Delivery, i) for i in _sweep(local("UTC", 2025, 6, 20, 8, 0))[0]]
    assert {(r.payload["follow_up_id"], r.kind) for r in late} == {
        (snoozed.id, "reminder_due"), (moved.id, "reminder_overdue")}


def test_escalation_goes_to_owner_else_covering_managers_else_admins(db, make):
    owner = make.make_user(timezone="UTC")
    assignee = make.make_user(timezone="UTC")
    manager = make.make_user(role="manager", region_scope="Asia")
    make.make_user(role="manager", region_scope="Europe")
    admin = make.make_user(role="admin")
    due = local("UTC", 2025, 6, 10, 12, 0)
    by_other = make.make_follow_up(make.make_partner(owner=owner, country="TH"), assignee,
                                   due_at=due)
    by_owner = make.make_follow_up(make.make_partner(owner=assignee, country="TH"), assignee,
                                   due_at=due)
    db.session.commit()
    _sweep(local("UTC", 2025, 6, 17, 8, 0))
    escalations = rows(db, kind="reminder_escalation")
    got = {(r.payload["follow_up_id"], r.recipient_id) for r in escalations}
    assert got == {(by_other.id, owner.id), (by_owner.id, manager.id)}
    manager.active = False
    by_owner.due_at = due + timedelta(minutes=5)
    db.session.commit()
    _sweep(local("UTC", 2025, 6, 17, 8, 5))
    assert {r.recipient_id for r in rows(db, kind="reminder_escalation")} >= {admin.id}


@pytest.mark.postgres
def test_two_sweeps_at_the_same_instant_insert_each_reminder_once(app, db, make):
    """Two beats: both sweeps run concurrently on their own PostgreSQL connections; both
    finish without an error and, between them, ledger each reminder exactly once."""
    users = [make.make_user(timezone="UTC") for _ in range(5)]
    partner = make.make_partner(owner=users[0])
    due = local("UTC", 2025, 6, 10, 12, 0)
    for i in range(100):
        make.make_follow_up(partner, users[i % 5], due_at=due)
    db.session.commit()
    now = local("UTC", 2025, 6, 10, 8, 0)
    results: list[dict] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def beat():
        try:
            with app.app_context():
                try:
                    barrier.wait(timeout=30)
                    results.append(run_sweep(app, now))
                finally:
                    db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a sweep did not finish within 60 s"
    assert not errors, errors
    assert len(results) == 2, results
    assert sum(r["inserted"] for r in results) == 100
    assert sum(r["emails"] for r in results) == 5
    assert sum(r["enqueued"] for r in results) == 5
    ledger = rows(db)
    assert len(ledger) == 100
    assert len({r.dedupe_key for r in ledger}) == 100
    per_follow_up = Counter(r.payload["follow_up_id"] for r in ledger)
    assert set(per_follow_up.values()) == {1}, "a reminder ledgered twice"


@pytest.mark.parametrize(("tz", "day"), [
    (PARIS, (2025, 3, 30)), (PARIS, (2025, 10, 26)),
    ("America/New_York", (2025, 3, 9)), ("America/New_York", (2025, 11, 2)),
])
def test_eight_local_across_daylight_saving_changes(db, make, tz, day):
    """Sweep every 15 minutes over the DST day and the next: each reminder once, at 08:00."""
    user = make.make_user(timezone=tz)
    partner = make.make_partner(owner=user)
    make.make_follow_up(partner, user, due_at=local(tz, *day, 18, 0))
    db.session.commit()
    start = local(tz, *day, 0, 0)
    fired = {}
    moment = start
    while moment < start + timedelta(hours=48):
        for batch in _sweep(moment):
            for row_id in batch:
                fired.setdefault(db.session.get(Delivery, row_id).kind, []).append(moment)
        moment += timedelta(minutes=15)
    db.session.commit()
    assert set(fired) == {"reminder_due", "reminder_overdue"}
    assert all(len(times) == 1 for times in fired.values())
    due_local = fired["reminder_due"][0].astimezone(reminders.timeutil.zone(tz))
    overdue_local = fired["reminder_overdue"][0].astimezone(reminders.timeutil.zone(tz))
    assert (due_local.date().timetuple()[:3], due_local.hour, due_local.minute) == (day, 8, 0)
    assert (overdue_local.hour, overdue_local.minute) == (8, 0)
    assert overdue_local.date() - due_local.date() == timedelta(days=1)


def test_one_email_per_recipient_lists_every_item(app, db, make, monkeypatch):
    user = make.make_user(timezone="UTC", name="Amara")
    open_partner = make.make_partner(owner=user, name="Open Travel Co")
    secret = make.make_partner(owner=user, name="Secret Police Unit", sensitivity="restricted",
                               sector="law_enforcement")
    due = local("UTC", 2025, 6, 10, 12, 0)
    make.make_follow_up(open_partner, user, due_at=due, title="Send the MoU draft")
    make.make_follow_up(open_partner, user, due_at=due, title="Book the venue")
    make.make_follow_up(secret, user, due_at=due, title="Share the hotline data")
    db.session.commit()
    batches = run_sweep(app, local("UTC", 2025, 6, 10, 8, 0))
    assert batches["emails"] == 1 and batches["inserted"] == 3
    with SMTPServer() as smtp:
        smtp_config(app, monkeypatch, smtp)
        outcome = deliver([r.id for r in rows(db)], app.config)
    assert len(outcome.sent) == 3
    [message] = smtp.handler.messages
    raw = message.as_string()
    text = message.get_payload()[0].get_payload(decode=True).decode()
    assert "Send the MoU draft" in text and "Book the venue" in text and "Open Travel Co" in text
    assert "A follow-up with a restricted partner\r\n" in text
    html = message.get_payload()[1].get_payload(decode=True).decode()
    assert "Secret Police Unit" not in raw + text + html
    assert "hotline" not in raw + text + html
    assert "Secret Police" not in message["Subject"]
    assert text.count("/follow-ups/email-action/") == 6


def test_confidential_follow_up_email_carries_no_title(app, db, make, monkeypatch):
    user = make.make_user(timezone="UTC")
    partner = make.make_partner(owner=user, name="Quiet Ministry", sensitivity="confidential")
    make.make_follow_up(partner, user, due_at=local("UTC", 2025, 6, 10, 12, 0),
                        title="Confidential budget talk")
    db.session.commit()
    run_sweep(app, local("UTC", 2025, 6, 10, 8, 0))
    with SMTPServer() as smtp:
        smtp_config(app, monkeypatch, smtp)
        deliver([r.id for r in rows(db)], app.config)
    message = smtp.handler.messages[0]
    raw = message.as_string()
    text = message.get_payload()[0].get_payload(decode=True).decode()
    html = message.get_payload()[1].get_payload(decode=True).decode()
    assert "Quiet Ministry" not in raw + text + html and "budget" not in raw + text + html
    assert "A follow-up with a restricted partner" in text
    assert "A follow-up with a restricted partner" in html


def test_completed_between_sweep_and_send_is_not_reminded(app, db, make, monkeypatch):
    user = make.make_user(timezone="UTC")
    partner = make.make_partner(owner=user)
    fu = make.make_follow_up(partner, user, due_at=local("UTC", 2025, 6, 10, 12, 0))
    other = make.make_follow_up(partner, user, due_at=local("UTC", 2025, 6, 10, 12, 0),
                                title="Still open")
    db.session.commit()
    run_sweep(app, local("UTC", 2025, 6, 10, 8, 0))
    followups.complete(user, fu)
    db.session.commit()
    with SMTPServer() as smtp:
        smtp_config(app, monkeypatch, smtp)
        outcome = deliver([r.id for r in rows(db)], app.config)
        assert len(smtp.handler.messages) == 1
        assert "Still open" in smtp.handler.messages[0].as_string()
        assert "Send the draft" not in smtp.handler.messages[0].as_string()
        followups.complete(user, other)
        db.session.commit()
        for row in rows(db):
            row.status = "queued"
        db.session.commit()
        again = deliver([r.id for r in rows(db)], app.config)
    assert len(smtp.handler.messages) == 1  # everything closed: nothing sent
    assert len(outcome.sent) == 1 and len(outcome.skipped) == 1
    assert len(again.skipped) == 2 and again.sent == []
    assert all(r.status == "sent" for r in rows(db))


def test_cli_sweep_reminders_at_runs_the_shared_job_and_refuses_a_bad_time(app, db, make):
    """`flask crm sweep-reminders --at` is a thin wrapper over crm.jobs: the same counts,
    and a bad time is a usage error naming ISO 8601, never a traceback."""
    user = make.make_user(timezone=PARIS)
    make.make_follow_up(make.make_partner(owner=user), user,
                        due_at=local(PARIS, 2025, 6, 10, 15, 0))
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["crm", "sweep-reminders", "--at", "2025-06-10T06:00:00Z"])
    assert result.exit_code == 0, result.output
    assert "inserted=1, emails=1, requeued=0" in result.output
    assert [r.kind for r in rows(db)] == ["reminder_due"]
    bad = runner.invoke(args=["crm", "sweep-reminders", "--at", "tomorrow at eight"])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output and "Traceback" not in bad.output
