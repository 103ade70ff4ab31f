"""`flask --app crm crm apply-retention [--dry-run] [--at ISO-TIME]` and the nightly beat entry."""

from __future__ import annotations

from datetime import UTC, datetime

from celery.schedules import crontab
from sqlalchemy import select

from crm.models import AuditEvent, Interaction
from crm.services.personal_data import retention
from tests.support import snapshot


def _world(db, make) -> list[int]:
    admin, staff = make.make_user("admin"), make.make_user("staff")
    partner = make.make_partner(staff)
    secret = make.make_partner(staff, sensitivity="confidential")
    ids = [make.make_interaction(partner, staff, occurred_at=datetime(y, 6, 1, tzinfo=UTC)).id
           for y in (2014, 2015, 2015, 2020)]
    ids.append(make.make_interaction(secret, staff,
                                     occurred_at=datetime(2019, 2, 1, tzinfo=UTC)).id)
    retention.set_policy(admin, {"standard": retention.Rule(10, "redact"),
                                 "restricted": retention.Rule(None, "redact"),
                                 "confidential": retention.Rule(5, "delete")})
    db.session.commit()
    return ids


def test_dry_run_prints_counts_per_sensitivity_and_year_and_changes_nothing(app, db, make):
    _world(db, make)
    before = snapshot.take(db)
    result = app.test_cli_runner().invoke(
        args=["crm", "apply-retention", "--dry-run", "--at", "2026-03-10T12:00:00Z"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Retention as of 2026-03-10T12:00:00+00:00 (dry run: nothing changed)",
        "standard (redact after 10 years): would redact 3",
        "  2014: would redact 1",
        "  2015: would redact 2",
        "restricted: kept forever",
        "confidential (delete after 5 years): would delete 1",
        "  2019: would delete 1",
    ]
    assert snapshot.changes(before, snapshot.take(db)) == {}


def test_the_command_applies_and_commits_and_a_second_run_finds_nothing(app, db, make):
    ids = _world(db, make)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["crm", "apply-retention", "--at", "2026-03-10T13:00+01:00"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Retention as of 2026-03-10T12:00:00+00:00"
    assert "standard (redact after 10 years): redacted 3" in lines
    assert "  2019: deleted 1" in lines
    db.session.expire_all()
    assert [i.summary for i in db.session.scalars(
        select(Interaction).order_by(Interaction.id))] == ["Redacted after 10 years"] * 3 + [
        "Discussed next steps"]
    assert db.session.get(Interaction, ids[-1]) is None
    again = runner.invoke(args=["crm", "apply-retention", "--at", "2026-03-10T12:00:00"])
    assert "standard (redact after 10 years): redacted 0" in again.output.splitlines()
    assert db.session.scalar(select(AuditEvent.id).where(
        AuditEvent.action == "retention.apply").order_by(AuditEvent.id.desc()).limit(1))
    bad = runner.invoke(args=["crm", "apply-retention", "--at", "last christmas"])
    assert bad.exit_code == 2 and "not an ISO 8601 time" in bad.output


def test_the_nightly_beat_entry_runs_the_retention_task(app, db, make):
    from tasks import retention as task
    from tasks.schedule import BEAT_SCHEDULE

    entry = BEAT_SCHEDULE["apply-retention"]
    assert entry["task"] == "tasks.retention.apply" == task.apply.name
    assert entry["schedule"] == crontab(hour=2, minute=30)
    assert 0 < entry["options"]["expires"] < 24 * 3600
    assert retention.next_run(datetime(2026, 3, 10, 2, 31, tzinfo=UTC)) == \
        datetime(2026, 3, 11, 2, 30, tzinfo=UTC)
    _world(db, make)
    counts = task.apply.run("2026-03-10T02:30:00Z")  # the task's body, in this test's session
    assert counts["standard"]["total"] == 3 and counts["confidential"]["total"] == 1
