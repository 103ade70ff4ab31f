"""Agreement reminders end to end: the reminder sweep, a real `celery worker` subprocess, a
private Redis and a real SMTP server (aiosmtpd), across Paris's change to summer time."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date, timedelta

import pytest
from celery import Celery

from crm.jobs import run_reminder_sweep as run_sweep
from tests.agreement_reminders.helpers import make_agreement
from tests.reminders.helpers import local, rows
from tests.reminders.smtp import SMTPServer
from tests.support.private_services import PrivateRedis
from tests.support.wait import wait_until
from tests.support.worker import celery_worker, worker_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.skipif(not shutil.which("redis-server"),
                                 reason="redis-server binary needed for a private Redis")]

PARIS = "Europe/Paris"


@pytest.fixture(scope="module")
def private_redis():
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp():
    with SMTPServer() as server:
        yield server


@pytest.fixture
def broker(app, private_redis, monkeypatch):
    """The in-process app enqueues to the private Redis (as the beat's app would)."""
    private_redis.client().flushdb()
    sender = Celery(broker=private_redis.url)
    sender.conf.update(broker_connection_timeout=1, broker_connection_retry=False)
    monkeypatch.setitem(app.extensions, "celery", sender)
    yield private_redis
    sender.close()


def _texts(smtp, address: str) -> list[str]:
    return [message.get_payload()[0].get_payload(decode=True).decode()
            for message in smtp.handler.for_recipient(address)]


def test_each_threshold_once_through_the_worker_one_email_per_recipient_across_dst(
        app, db, make, broker, smtp, database_url, tmp_path):
    owner = make.make_user(timezone=PARIS, email="owner@example.org")
    manager = make.make_user(role="manager", region_scope="Europe", timezone="Asia/Bangkok",
                             email="lead@example.org")
    make.make_user(role="manager", region_scope="Asia", email="asia@example.org")
    partner = make.make_partner(owner=owner, country="FR", name="Gendarmerie nationale")
    secret = make.make_partner(owner=owner, country="FR", name="Brigade des mineurs",
                               sensitivity="restricted")
    # Paris moves its clocks on Sun 30 March 2025: the 7-day reminder (29 March) is at
    # 07:00 UTC, the escalation (6 April) at 06:00 UTC
    make_agreement(partner, title="MoU on referrals", expires_on=date(2025, 4, 5))
    make_agreement(secret, title="Data exchange protocol", expires_on=date(2025, 4, 5))
    follow_up = make.make_follow_up(partner, owner, title="Send the draft",
                                    due_at=local(PARIS, 2025, 3, 6, 11, 0))
    db.session.commit()
    env = worker_env(database_url, tmp_path, REDIS_URL=broker.url, SMTP_HOST="127.0.0.1",
                     SMTP_PORT=smtp.port, DELIVERY_RETRY_BASE_SECONDS="1")
    moments = [local(PARIS, *day, 8, 0) for day in
               ((2025, 1, 5), (2025, 3, 6), (2025, 3, 29), (2025, 4, 6))]
    assert [m.hour for m in moments] == [7, 7, 7, 6]
    log = tmp_path / "worker.log"
    with celery_worker(env, log_path=log):
        for sent, moment in zip((2, 5, 7, 9), moments, strict=True):
            assert run_sweep(app, moment - timedelta(minutes=1))["inserted"] == 0
            result = run_sweep(app, moment)
            assert result["emails"] == 1 and result["enqueued"] == 1
            assert run_sweep(app, moment + timedelta(minutes=1))["inserted"] == 0
            wait_until(lambda n=sent: Counter(r.status for r in rows(db)) == Counter(sent=n),
                       timeout=60, message=lambda: log.read_text()[-3000:])
            if sent == 5:  # sent with the 30-day reminders, then done
                follow_up.status = "done"
                db.session.commit()
    assert len(smtp.handler.messages) == 4
    assert len(set(smtp.handler.message_ids())) == 4
    notice, thirty, seven = _texts(smtp, "owner@example.org")
    [escalation] = _texts(smtp, "lead@example.org")
    assert "[Renewal notice] MoU on referrals" in notice
    assert "[Renewal notice] An agreement with a restricted partner" in notice
    assert "Send the draft" in thirty and "[Expires in 30 days] MoU on referrals" in thirty
    assert "[Expires in 7 days]" in seven and "Expires: Sat 05 Apr 2025" in seven
    assert "[Expired] MoU on referrals" in escalation and "Partner owner: " in escalation
    for text in (notice, thirty, seven, escalation):
        assert "Brigade" not in text and "Data exchange" not in text
        assert "/agreements/" in text
    assert not _texts(smtp, "asia@example.org")
    assert manager.id in {r.recipient_id for r in rows(db, kind="agreement_escalation")}
