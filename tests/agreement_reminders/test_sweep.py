"""Agreement reminders in the reminder sweep: thresholds, re-arming, catch-up, recipients,
statement counts and the send-time re-checks (in process; the worker test sends for real)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from crm import mail
from crm.jobs import run_reminder_sweep as run_sweep
from crm.services import agreement_reminders, deliveries, reminders
from tests.agreement_reminders.helpers import insert_agreements, make_agreement
from tests.reminders.helpers import local, rows

PARIS = "Europe/Paris"


def _keys(db, kind=None) -> list[tuple[str, int]]:
    found = rows(db, kind=kind) if kind else [
        r for r in rows(db) if r.kind in agreement_reminders.KINDS]
    return [(r.dedupe_key, r.recipient_id) for r in found]


def _sweep(app, now) -> int:
    return run_sweep(app, now)["inserted"]


@pytest.fixture
def settings(app):
    return deliveries.MailSettings.from_config(app.config)


@pytest.fixture
def team(make, db):
    owner = make.make_user(timezone=PARIS, email="owner@example.org")
    partner = make.make_partner(owner=owner, country="FR", name="Gendarmerie")
    db.session.commit()
    return owner, partner


def test_each_expiry_threshold_once_at_eight_in_the_owners_zone_across_dst(app, db, make, team):
    owner, partner = team
    europe = make.make_user(role="manager", region_scope="Europe", timezone="Asia/Tokyo")
    everywhere = make.make_user(role="manager", timezone="UTC")
    make.make_user(role="manager", region_scope="Asia")  # does not cover France
    # expires Sat 5 April 2025: the 7-day reminder (29 March) is in CET, the escalation
    # (6 April) in CEST — Paris moved its clocks on 30 March
    agreement = make_agreement(partner, expires_on=date(2025, 4, 5))
    db.session.commit()
    expected = [
        ((2025, 1, 5), "renewal-notice", [owner.id]),
        ((2025, 3, 6), "expiry-30", [owner.id]),
        ((2025, 3, 29), "expiry-7", [owner.id]),
        ((2025, 4, 6), "expired", sorted([europe.id, everywhere.id])),
    ]
    for day, threshold, recipients in expected:
        moment = local(PARIS, *day, 8, 0)
        assert _sweep(app, moment - timedelta(minutes=1)) == 0, threshold
        assert _sweep(app, moment) == len(recipients), threshold
        assert _sweep(app, moment + timedelta(minutes=1)) == 0, threshold
        new = [r for r in rows(db) if f":{threshold}:" in r.dedupe_key]
        assert sorted(r.recipient_id for r in new) == recipients
        assert all(r.dedupe_key.startswith(f"agreement:{agreement.id}:{threshold}:2025-04-05")
                   for r in new)
    assert local(PARIS, 2025, 3, 29, 8, 0).hour == 7  # CET: UTC+1
    assert local(PARIS, 2025, 4, 6, 8, 0).hour == 6  # CEST: UTC+2
    assert {r.kind for r in rows(db)} == {"agreement_reminder", "agreement_escalation"}
    assert len(rows(db)) == 5


def test_report_thresholds_30_days_before_on_the_day_and_14_days_after(app, db, make, team):
    owner, partner = team
    manager = make.make_user(role="manager", region_scope="Europe")
    make_agreement(partner, kind="the_code", reporting_every_months=12,
                   next_report_due_on=date(2025, 3, 30))  # the day Paris changes clocks
    db.session.commit()
    for day, threshold, recipient in (((2025, 2, 28), "report-30", owner.id),
                                      ((2025, 3, 30), "report-due", owner.id),
                                      ((2025, 4, 13), "report-overdue", manager.id)):
        moment = local(PARIS, *day, 8, 0)
        assert _sweep(app, moment - timedelta(minutes=1)) == 0, threshold
        assert _sweep(app, moment) == 1, threshold
        assert _sweep(app, moment + timedelta(days=1)) == 0, threshold
        assert rows(db)[-1].recipient_id == recipient
        assert f":{threshold}:2025-03-30" in rows(db)[-1].dedupe_key


def test_a_sweep_down_for_40_days_sends_only_the_latest_passed_threshold_once(
        app, db, make, team):
    owner, partner = team
    manager = make.make_user(role="manager")
    agreement = make_agreement(partner, expires_on=date(2025, 6, 20), renewal_notice_days=45)
    db.session.commit()
    assert _sweep(app, local(PARIS, 2025, 5, 6, 9, 0)) == 1  # the notice, 45 days before
    # the beat stops; 40 days later expiry-30, expiry-7 and the escalation have all passed
    assert _sweep(app, local(PARIS, 2025, 6, 15, 9, 0)) == 1  # expiry-7 only (the 30-day one is never sent)
    assert _sweep(app, local(PARIS, 2025, 7, 30, 9, 0)) == 1  # and later only the escalation
    assert _sweep(app, local(PARIS, 2025, 7, 30, 9, 5)) == 0
    assert [key.split(":")[2] for key, _ in _keys(db)] == ["renewal-notice", "expiry-7",
                                                           "expired"]
    assert _keys(db, "agreement_escalation") == [
        (f"agreement:{agreement.id}:expired:2025-06-20:{manager.id}", manager.id)]


def test_entered_late_gets_only_the_latest_threshold_and_a_date_edit_rearms(
        app, db, make, team):
    owner, partner = team
    agreement = make_agreement(partner, expires_on=date(2025, 6, 20))
    db.session.commit()
    now = local(PARIS, 2025, 6, 1, 10, 0)  # entered 19 days before expiry
    assert _sweep(app, now) == 1
    assert _keys(db) == [(f"agreement:{agreement.id}:expiry-30:2025-06-20", owner.id)]
    agreement.expires_on = date(2025, 8, 30)  # extended: the notice is due again
    db.session.commit()
    assert _sweep(app, now + timedelta(minutes=1)) == 1
    assert _keys(db)[-1] == (f"agreement:{agreement.id}:renewal-notice:2025-08-30", owner.id)
    assert _sweep(app, now + timedelta(minutes=2)) == 0


def test_renewed_or_terminated_agreements_get_nothing_and_queued_rows_are_dropped(
        app, db, make, team, settings):
    owner, partner = team
    renewed = make_agreement(partner, expires_on=date(2025, 6, 20), title="Renewed")
    ended = make_agreement(partner, expires_on=date(2025, 6, 20), title="Terminated")
    kept = make_agreement(partner, expires_on=date(2025, 6, 20), title="Kept")
    db.session.commit()
    now = local(PARIS, 2025, 6, 1, 10, 0)
    [batch] = reminders.sweep(now, hour=8, escalation_days=7)
    db.session.commit()
    renewed.status = "renewed"
    ended.status, ended.terminated_on = "terminated", date(2025, 6, 1)
    db.session.commit()
    batch_rows = rows(db)
    email = reminders.render(batch_rows, settings)
    assert [item["label"] for item in email.context["agreements"]] == ["Kept"]
    assert sorted(r.last_error for r in batch_rows if r.last_error) == [
        deliveries.NOT_SENT + "agreement renewed", deliveries.NOT_SENT + "agreement terminated"]
    db.session.rollback()
    assert _sweep(app, local(PARIS, 2025, 6, 14, 8, 0)) == 1  # expiry-7: only `kept`
    assert rows(db)[-1].dedupe_key.startswith(f"agreement:{kept.id}:expiry-7")


def test_one_email_per_recipient_with_follow_ups_and_restricted_agreements_unnamed(
        app, db, make, team, settings):
    owner, partner = team
    secret = make.make_partner(owner=owner, name="Secret Unit", sensitivity="restricted")
    make_agreement(partner, expires_on=date(2025, 6, 20), title="Open MoU")
    make_agreement(secret, expires_on=date(2025, 6, 20), title="Secret MoU")
    make.make_follow_up(partner, owner, due_at=local(PARIS, 2025, 6, 1, 9, 0), title="Call")
    db.session.commit()
    [batch] = reminders.sweep(local(PARIS, 2025, 6, 1, 10, 0), hour=8, escalation_days=7)
    db.session.commit()
    email = reminders.render([r for r in rows(db) if r.id in batch], settings)
    assert email.subject == "1 follow-up and 2 agreements need you"
    labels = [item["label"] for item in email.context["agreements"]]
    assert labels == ["Open MoU", "An agreement with a restricted partner"]
    message = mail.build(email)
    for part in message.iter_parts():
        body = part.get_content()
        assert "Secret" not in body and "/agreements/" in body and "Open MoU" in body


def test_escalations_go_to_the_covering_managers_confidential_ones_to_admins(
        app, db, make, team, settings):
    owner, partner = team
    europe = make.make_user(role="manager", region_scope="Europe")
    make.make_user(role="manager", region_scope="Asia")
    admin = make.make_user(role="admin")
    asia = make.make_partner(owner=None, country="TH", sensitivity="restricted")
    confidential = make.make_partner(owner=owner, country="FR", sensitivity="confidential")
    make_agreement(partner, expires_on=date(2025, 6, 1))
    make_agreement(asia, expires_on=date(2025, 6, 20))  # no owner: the team gets expiry-30
    make_agreement(confidential, expires_on=date(2025, 6, 1))
    db.session.commit()
    assert _sweep(app, local(PARIS, 2025, 6, 2, 10, 0)) == 3
    got = sorted((r.kind, r.recipient_id, r.payload["threshold"]) for r in rows(db))
    asia_manager = [u for u in got if u[2] == "expiry-30"][0][1]
    assert asia_manager not in (europe.id, admin.id)
    assert got == sorted([("agreement_escalation", europe.id, "expired"),
                          ("agreement_reminder", asia_manager, "expiry-30"),
                          ("agreement_escalation", admin.id, "expired")])


def test_a_recipient_who_can_no_longer_see_it_is_not_sent_it(app, db, make, settings):
    owner = make.make_user()
    partner = make.make_partner(owner=owner, sensitivity="restricted")
    make_agreement(partner, expires_on=date(2025, 6, 20))
    db.session.commit()
    reminders.sweep(local("UTC", 2025, 6, 1, 10, 0), hour=8, escalation_days=7)
    db.session.commit()
    owner.role = "viewer"  # a viewer sees no restricted record, even one they own
    db.session.commit()
    [row] = rows(db)
    assert reminders.render([row], settings) is None
    assert row.last_error == deliveries.NOT_SENT + "recipient can no longer see the agreement"


@pytest.mark.parametrize("count", [5, 500])
def test_the_agreement_sweep_runs_a_fixed_number_of_statements(
        app, db, make, count_queries, count):
    owner = make.make_user()
    make.make_user(role="manager")
    partner = make.make_partner(owner=owner)
    insert_agreements(db, partner.id, count, expires="DATE '2025-06-01'",
                      report="DATE '2025-05-20'", report_spread=40)
    db.session.expunge_all()
    with count_queries() as counter:
        batches = reminders.sweep(local("UTC", 2025, 6, 10, 9, 0), hour=8, escalation_days=7)
    # the follow-ups' candidates (no markers to update: none), the agreements' two tracks,
    # the possible recipients and ONE INSERT for all: every agreement owes its expiry and
    # its report threshold
    assert sum(map(len, batches)) == 2 * count
    assert len(counter.statements) == 5, counter.statements


@pytest.mark.postgres
@pytest.mark.parametrize("track", agreement_reminders.TRACKS)
def test_the_candidates_are_read_through_the_partial_indexes(app, db, track):
    stmt = agreement_reminders._candidates_stmt(track, local("UTC", 2025, 6, 20, 9, 0))
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(db.session.execute(text(f"EXPLAIN {sql}")).scalars())
    db.session.rollback()
    index = ("ix_agreements_live_expires_on" if track == "expiry"
             else "ix_agreements_live_next_report_due_on")
    assert index in plan, plan
