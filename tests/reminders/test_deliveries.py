"""The delivery engine in-process: ledger inserts, claim/send/mark, retries and failures."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm import mail
from crm.lib import timeutil
from crm.models import Delivery
from crm.services import deliveries, emails
from tasks.delivery import deliver
from tests.reminders.smtp import SMTPServer

KIND = "other"


@pytest.fixture
def test_renderer(monkeypatch):
    def _render(rows, settings):
        live = [r for r in rows if not (r.payload or {}).get("drop")]
        for row in rows:
            if row not in live:
                deliveries.skip(row, "dropped")
        if not live:
            return None
        return mail.Email(to=rows[0].recipient_email, subject="Test", template="test",
                          context={"name": ", ".join(r.dedupe_key for r in live)})

    monkeypatch.setitem(emails.RENDERERS, KIND, _render)


def _rows(n, batch="b1", **extra):
    return [{"kind": KIND, "dedupe_key": f"t:{batch}:{i}", "batch_key": batch,
             "recipient_email": "someone@example.org", **extra} for i in range(n)]


def test_insert_ignore_returns_only_new_ids(db):
    first = deliveries.insert_ignore(_rows(3))
    again = deliveries.insert_ignore(_rows(4))
    db.session.commit()
    assert len(first) == 3
    assert len(again) == 1
    assert db.session.query(Delivery).count() == 4
    assert {r.status for r in db.session.query(Delivery)} == {"queued"}


def test_deliver_sends_one_email_per_batch_and_keeps_the_message_id(app, db, test_renderer,
                                                                     monkeypatch):
    ids = deliveries.insert_ignore(_rows(3) + _rows(1, batch="b2", payload={"drop": True}))
    db.session.commit()
    with SMTPServer() as smtp:
        monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
        monkeypatch.setitem(app.config, "SMTP_PORT", smtp.port)
        outcome = deliver(ids, app.config)
        again = deliver(ids, app.config)
    assert len(smtp.handler.messages) == 1
    assert sorted(outcome.sent) == ids[:3]
    assert outcome.skipped == [ids[3]]
    assert again.sent == [] and again.retry == []
    rows = db.session.query(Delivery).order_by(Delivery.id).all()
    assert {r.message_id for r in rows[:3]} == {smtp.handler.messages[0]["Message-ID"]}
    assert all(r.status == "sent" and r.sent_at and r.attempts == 1 for r in rows[:3])
    assert deliveries.is_skipped(rows[3])


def test_temporary_failure_retries_with_the_same_message_id(app, db, test_renderer,
                                                            monkeypatch):
    ids = deliveries.insert_ignore(_rows(2))
    db.session.commit()
    with SMTPServer() as smtp:
        monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
        monkeypatch.setitem(app.config, "SMTP_PORT", smtp.port)
        smtp.handler.script = ["451 4.3.0 try later", "451 4.3.0 try later"]
        first = deliver(ids, app.config)
        row = db.session.get(Delivery, ids[0])
        message_id = row.message_id
        assert first.retry == ids and first.attempt == 1
        assert row.status == "queued" and "451" in row.last_error
        second = deliver(first.retry, app.config)
        third = deliver(second.retry, app.config)
    assert third.sent == ids
    assert smtp.handler.attempts == 3
    assert [m["Message-ID"] for m in smtp.handler.messages] == [message_id]
    db.session.expire_all()
    assert db.session.get(Delivery, ids[0]).attempts == 3


def test_permanent_failure_is_not_retried(app, db, test_renderer, monkeypatch):
    ids = deliveries.insert_ignore(_rows(1))
    db.session.commit()
    with SMTPServer() as smtp:
        monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
        monkeypatch.setitem(app.config, "SMTP_PORT", smtp.port)
        smtp.handler.script = ["550 5.1.1 no such user"]
        outcome = deliver(ids, app.config)
    assert outcome.failed == ids and outcome.retry == []
    row = db.session.get(Delivery, ids[0])
    assert row.status == "failed" and "550" in row.last_error and row.attempts == 1


def test_attempts_are_bounded(app, db, test_renderer, monkeypatch):
    monkeypatch.setitem(app.config, "DELIVERY_MAX_ATTEMPTS", 2)
    ids = deliveries.insert_ignore(_rows(1))
    db.session.commit()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", 1)  # nothing listens: connection refused
    assert deliver(ids, app.config).retry == ids
    assert deliver(ids, app.config).failed == ids
    row = db.session.get(Delivery, ids[0])
    assert row.status == "failed" and row.attempts == 2


def test_requeue_stuck_and_retry_failed(db):
    ids = deliveries.insert_ignore(_rows(2) + _rows(1, batch="b2"))
    db.session.commit()
    now = timeutil.now_utc()
    assert deliveries.requeue_stuck(now, 10) == []
    later = now + timedelta(minutes=11)
    assert sorted(deliveries.requeue_stuck(later, 10)) == [ids[:2], ids[2:]]
    assert deliveries.requeue_stuck(later + timedelta(minutes=1), 10) == []
    row = db.session.get(Delivery, ids[2])
    deliveries.mark_failed([row], "550 nope")
    assert deliveries.retry_failed(row) == [ids[2]]
    assert row.status == "queued" and row.attempts == 0


def test_backoff_grows_and_is_jittered():
    values = [deliveries.backoff_seconds(n, 30, 900, lambda: 1.0) for n in range(1, 7)]
    assert values == [30, 60, 120, 240, 480, 900]
    assert deliveries.backoff_seconds(1, 30, 900, lambda: 0.0) == 15


def test_every_email_kind_is_in_the_one_explicit_table():
    """crm.services.emails.RENDERERS names each kind's renderer; nothing registers by import."""
    from crm.models.enums import DELIVERY_KINDS

    assert set(emails.RENDERERS) <= set(DELIVERY_KINDS)
    assert set(DELIVERY_KINDS) - set(emails.RENDERERS) == {"import_report", KIND}
    assert emails.RENDERERS["digest"].__module__ == "crm.services.digests.email"
    with pytest.raises(LookupError):
        emails.render([Delivery(kind="import_report", dedupe_key="x")],
                      deliveries.MailSettings(secret_key="k", base_url="https://crm.example.org"))


def test_mail_settings_are_read_from_the_config_in_one_place():
    import dataclasses

    settings = deliveries.MailSettings.from_config({
        "SECRET_KEY": "k", "CRM_BASE_URL": "https://crm.example.org",
        "HEALTH_THRESHOLDS": {"media": (5, 10)}, "HEALTH_DEFAULT_THRESHOLDS": (1, 2)})
    assert (settings.secret_key, settings.base_url) == ("k", "https://crm.example.org")
    assert settings.thresholds.for_sector("media") == (5, 10)
    assert settings.thresholds.for_sector("technology") == (1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.base_url = "https://evil.example"  # type: ignore[misc]
