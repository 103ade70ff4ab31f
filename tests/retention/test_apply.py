"""Retention applied: the boundary, redaction, deletion with monthly counts, idempotence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import String, cast, func, select, text

from crm.models import (
    AuditEvent,
    AuditValue,
    FollowUp,
    Interaction,
    InteractionMonthCount,
    interaction_contacts,
    interaction_staff,
)
from crm.services import dashboard, engagement, interactions, reports
from crm.services.personal_data import retention
from tests.support import snapshot

AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _policy(**rules: tuple[int | None, str]) -> retention.Policy:
    policy = retention.default_policy()
    for sensitivity, (years, action) in rules.items():
        policy[sensitivity] = retention.Rule(years, action)
    return policy


def _set(db, make, **rules) -> None:
    retention.set_policy(make.make_user("admin"), _policy(**rules))
    db.session.commit()


def _apply_events(db) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "retention.apply").order_by(AuditEvent.id)))


def test_cutoff_counts_calendar_years_in_utc():
    assert retention.cutoff(AT, 10) == datetime(2016, 3, 10, 12, 0, tzinfo=UTC)
    leap = datetime(2028, 2, 29, 6, 0, tzinfo=UTC)
    assert retention.cutoff(leap, 1) == datetime(2027, 2, 28, 6, 0, tzinfo=UTC)
    # an offset is only another way to write the same instant
    assert retention.cutoff(AT.astimezone(ZoneInfo("Pacific/Kiritimati")), 10) == \
        retention.cutoff(AT, 10)


def test_exactly_n_years_old_is_past_retention_one_second_younger_is_kept(db, make):
    staff = make.make_user("staff")
    partner = make.make_partner(staff)
    exact = make.make_interaction(partner, staff, occurred_at=datetime(2016, 3, 10, 12, 0,
                                                                       tzinfo=UTC))
    younger = make.make_interaction(partner, staff, occurred_at=datetime(2016, 3, 10, 12, 0, 1,
                                                                         tzinfo=UTC))
    _set(db, make, standard=(10, "redact"))
    counts = retention.apply(AT)
    db.session.commit()
    assert counts["standard"]["total"] == 1
    assert counts["standard"]["by_year"] == {"2016": 1}
    assert db.session.get(Interaction, exact.id).redacted_at is not None
    assert db.session.get(Interaction, younger.id).redacted_at is None


@pytest.mark.parametrize(("zone", "utc_of_local_evening"), [
    # 23:30 on 15 January 2016 in the user's zone, and that instant in UTC
    ("America/Los_Angeles", datetime(2016, 1, 16, 7, 30, tzinfo=UTC)),   # next UTC day
    ("Pacific/Kiritimati", datetime(2016, 1, 15, 9, 30, tzinfo=UTC)),    # same UTC day
])
def test_late_evening_interactions_in_far_zones_reach_the_boundary_at_their_instant(
        db, make, zone, utc_of_local_evening):
    """Logged at 23:30 local on 15 January 2016: ten years later it is kept until the
    instant it occurred, whichever day that is in UTC or in the user's zone."""
    tz = ZoneInfo(zone)
    staff = make.make_user("staff", timezone=zone)
    partner = make.make_partner(staff)
    logged = interactions.log_interaction(staff, partner, {
        "kind": "meeting", "occurred_at": datetime(2016, 1, 15, 23, 30, tzinfo=tz),
        "summary": "Late meeting", "sensitivity": "standard"})
    assert logged.occurred_at == utc_of_local_evening
    _set(db, make, standard=(10, "redact"))
    anniversary = utc_of_local_evening.replace(year=2026)
    # the nightly run on the user's anniversary day (02:30 UTC) and a second before the
    # instant: kept; in the user's zone the instant is 23:30 on 15 January 2026
    assert anniversary.astimezone(tz).replace(tzinfo=None) == datetime(2026, 1, 15, 23, 30)
    for early in (datetime(2026, 1, 15, 2, 30, tzinfo=UTC), anniversary - timedelta(seconds=1)):
        if early < anniversary:
            assert retention.apply(early)["standard"]["total"] == 0
    assert retention.apply(anniversary)["standard"]["total"] == 1
    db.session.commit()
    assert db.session.get(Interaction, logged.id).redacted_at is not None


def _audited_interaction(db, make, staff, partner, contact, when, summary):
    """An interaction logged and then edited through the services (so the audit trail holds
    its texts), with a contact and a staff member present and a follow-up made from it."""
    logged = interactions.log_interaction(staff, partner, {
        "kind": "call", "occurred_at": when, "summary": summary,
        "outcome": f"{summary} outcome", "contact_ids": [contact.id], "staff_ids": [staff.id],
        "sensitivity": partner.sensitivity})
    interactions.update_interaction(staff, logged, {"summary": f"{summary} edited"})
    follow_up = make.make_follow_up(partner, staff, interaction=logged)
    db.session.commit()
    return logged, follow_up


def _texts_anywhere(db, needle: str) -> list[str]:
    """Where `needle` is still stored: interactions, audit values, audit events."""
    found = []
    if db.session.scalar(select(func.count()).select_from(Interaction).where(
            (Interaction.summary.contains(needle)) | (Interaction.outcome.contains(needle)))):
        found.append("interactions")
    if db.session.scalar(select(func.count()).select_from(AuditValue).where(
            AuditValue.value.contains(needle))):
        found.append("audit_values")
    if db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            cast(AuditEvent.changes, String).contains(needle)
            | cast(AuditEvent.details, String).contains(needle))):
        found.append("audit_events")
    return found


def test_redact_clears_text_and_attendance_keeps_the_interaction_counts_and_health(db, make):
    admin, staff = make.make_user("admin"), make.make_user("staff")
    partner = make.make_partner(staff)
    contact = make.make_contact(partner)
    old, follow_up = _audited_interaction(db, make, staff, partner, contact,
                                          datetime(2015, 6, 1, 9, tzinfo=UTC), "Secretive")
    recent, _ = _audited_interaction(db, make, staff, partner, contact,
                                     datetime(2025, 6, 1, 9, tzinfo=UTC), "Recent talk")
    assert _texts_anywhere(db, "Secretive") == ["interactions", "audit_values"]
    period = reports.Period(datetime(2015, 1, 1, tzinfo=UTC), datetime(2016, 1, 1, tzinfo=UTC))
    before = reports.engagement_report(admin, period, reports.Filters()).total
    health_before = engagement.health_of(partner, AT)
    version = old.version
    _set(db, make, standard=(10, "redact"))

    counts = retention.apply(AT)
    db.session.commit()

    assert counts["standard"] == {"action": "redact", "years": 10, "total": 1,
                                  "by_year": {"2015": 1}}
    row = db.session.get(Interaction, old.id)
    assert (row.summary, row.outcome) == ("Redacted after 10 years", None)
    assert row.version == version + 1 and row.occurred_at == datetime(2015, 6, 1, 9, tzinfo=UTC)
    assert _texts_anywhere(db, "Secretive") == []
    scrubbed = db.session.scalars(select(AuditValue).where(
        AuditValue.object_type == "interaction", AuditValue.object_id == str(old.id))).all()
    assert scrubbed and all(v.value is None and v.erased_at for v in scrubbed)
    links = {t.name: set(db.session.scalars(select(t.c.interaction_id)))
             for t in (interaction_contacts, interaction_staff)}
    assert links == {"interaction_contacts": {recent.id},
                     "interaction_staff": {old.id, recent.id}}
    assert db.session.get(FollowUp, follow_up.id).interaction_id == old.id
    assert reports.engagement_report(admin, period, reports.Filters()).total == before == (1, 0)
    db.session.refresh(partner)
    assert engagement.health_of(partner, AT) == health_before
    assert db.session.get(Interaction, recent.id).summary == "Recent talk edited"


def test_a_second_run_changes_nothing_and_its_event_says_zero(db, make):
    staff = make.make_user("staff")
    partner = make.make_partner(staff)
    for year in (2012, 2014, 2014):
        make.make_interaction(partner, staff, occurred_at=datetime(year, 5, 1, tzinfo=UTC))
    restricted = make.make_partner(staff, sensitivity="restricted")
    make.make_interaction(restricted, staff, occurred_at=datetime(2013, 5, 1, tzinfo=UTC))
    _set(db, make, standard=(10, "redact"), restricted=(5, "delete"))
    first = retention.apply(AT)
    db.session.commit()
    assert first["standard"]["by_year"] == {"2012": 1, "2014": 2}
    assert first["restricted"]["by_year"] == {"2013": 1}
    assert first["confidential"] == {"action": "redact", "years": None, "total": 0,
                                     "by_year": {}}
    after_first = snapshot.take(db)

    second = retention.apply(AT)
    db.session.commit()

    assert all(entry["total"] == 0 for entry in second.values())
    changed = snapshot.changes(after_first, snapshot.take(db))
    assert set(changed) == {"audit_events"} and not changed["audit_events"]["removed"]
    events = _apply_events(db)
    assert len(events) == 2 and events[0].actor_id is None
    assert events[0].details["counts"]["standard"]["total"] == 3
    assert all(e["total"] == 0 for e in events[1].details["counts"].values())


def test_dry_run_and_plan_change_nothing_and_match_the_run(db, make):
    staff = make.make_user("staff")
    partner = make.make_partner(staff)
    for month in (1, 2, 3):
        make.make_interaction(partner, staff, occurred_at=datetime(2014, month, 1, tzinfo=UTC))
    _set(db, make, standard=(10, "delete"))
    before = snapshot.take(db)
    dry = retention.apply(AT, dry_run=True)
    db.session.commit()
    assert snapshot.changes(before, snapshot.take(db)) == {}
    assert dry == retention.plan(AT)
    assert dry["standard"]["by_year"] == {"2014": 3}
    assert retention.apply(AT) == dry


def test_delete_in_batches_keeps_report_and_chart_totals_for_every_reader(db, make,
                                                                           monkeypatch):
    """Deleted interactions leave monthly counts: the engagement report (a whole year and
    the year before), and the monthly chart show the same numbers to each reader, who
    still sees only what they may (a viewer none of the restricted counts)."""
    from crm.lib import cache

    cache.clear()
    monkeypatch.setattr(retention, "BATCH", 3)  # several batches, one month split over two
    admin, viewer = make.make_user("admin"), make.make_user("viewer")
    alice, bob = make.make_user("staff"), make.make_user("staff")
    open_p = make.make_partner(alice, country="TH", sector="civil_society")
    police = make.make_partner(alice, country="KE", sector="law_enforcement",
                               sensitivity="restricted")
    secret = make.make_partner(bob, country="FR", sector="media", sensitivity="confidential")
    contact = make.make_contact(open_p)
    kept_follow_up = None
    for i, (partner, when, kind, *level) in enumerate([
        (open_p, datetime(2014, 12, 31, 23, 0, tzinfo=UTC), "call"),
        (open_p, datetime(2015, 1, 5, tzinfo=UTC), "call"),
        (open_p, datetime(2015, 1, 21, tzinfo=UTC), "meeting"),
        (open_p, datetime(2015, 1, 20, tzinfo=UTC), "call"),    # the next batch
        (open_p, datetime(2015, 7, 1, tzinfo=UTC), "call"),
        (police, datetime(2015, 1, 9, tzinfo=UTC), "visit"),
        (police, datetime(2015, 11, 30, 23, 59, tzinfo=UTC), "visit"),
        (secret, datetime(2015, 3, 3, tzinfo=UTC), "email"),
        (open_p, datetime(2015, 5, 5, tzinfo=UTC), "training", "restricted"),  # > its partner
        (open_p, datetime(2016, 4, 1, tzinfo=UTC), "call"),   # younger than 10 years
    ]):
        row = make.make_interaction(partner, alice, occurred_at=when, kind=kind,
                                    sensitivity=level[0] if level else partner.sensitivity)
        if i == 1:
            db.session.execute(interaction_contacts.insert().values(
                interaction_id=row.id, contact_id=contact.id))
            kept_follow_up = make.make_follow_up(partner, alice, interaction=row)
    db.session.commit()
    readers = (admin, viewer, alice, bob)
    year = reports.Period(datetime(2015, 1, 1, tzinfo=UTC), datetime(2016, 1, 1, tzinfo=UTC))
    chart_now = datetime(2015, 12, 15, tzinfo=UTC)

    def numbers():
        out = []
        for user in readers:
            report = reports.engagement_report(user, year, reports.Filters())
            out.append((report.total, {r.key: (r.current, r.previous)
                                       for rows in report.by.values() for r in rows},
                        dashboard.interactions_by_month(user, chart_now)))
        return out

    before = numbers()
    assert [n[0] for n in before] == [(8, 1), (4, 1), (7, 1), (5, 1)]
    _set(db, make, standard=(10, "delete"), restricted=(10, "delete"),
         confidential=(10, "delete"))

    counts = retention.apply(AT)
    db.session.commit()

    assert {s: e["total"] for s, e in counts.items()} == {
        "standard": 5, "restricted": 3, "confidential": 1}
    assert db.session.scalar(select(func.count()).select_from(Interaction)) == 1
    assert db.session.scalar(select(func.sum(InteractionMonthCount.count))) == 9
    january = db.session.get(InteractionMonthCount,
                             (datetime(2015, 1, 1).date(), open_p.id, "standard", "call"))
    assert january.count == 2  # split over two batches, added up
    assert numbers() == before
    assert db.session.get(FollowUp, kept_follow_up.id).interaction_id is None
    assert db.session.scalar(select(func.count()).select_from(interaction_contacts)) == 0
    # and again: nothing left to count twice
    assert all(e["total"] == 0 for e in retention.apply(AT).values())
    db.session.commit()
    assert numbers() == before


def test_a_run_holds_a_lock_so_a_simultaneous_run_waits_for_it(db, make, is_postgres):
    """PostgreSQL: until the run's transaction ends, a second run cannot take the lock (it
    would wait, then find nothing left): monthly counts are never added twice."""
    if not is_postgres:
        pytest.skip("the advisory lock is PostgreSQL's")
    _set(db, make, standard=(10, "delete"))
    probe = text("SELECT pg_try_advisory_xact_lock(:key)")
    retention.apply(AT)
    with db.engine.connect() as other:
        assert other.execute(probe, {"key": retention.LOCK_KEY}).scalar() is False
        other.rollback()
        db.session.commit()
        assert other.execute(probe, {"key": retention.LOCK_KEY}).scalar() is True
