"""End to end through a real `celery -A tasks worker`, our own Redis and a real SMTP server:
a worker killed in the middle of a send loses nothing and sends nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import timedelta

import pytest
import redis
from celery import Celery
from sqlalchemy import select

from crm.celery_app import SEND_TASK
from crm.lib import timeutil
from crm.models import Delivery
from crm.services import deliveries, digests
from tests.digests import dataset as ds
from tests.support.services import free_port
from tests.support.smtp import SmtpSink
from tests.support.worker import celery_worker, wait_for, worker_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def own_redis():
    """A private redis-server: nothing another engineer runs can see or flush it."""
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                                "--appendonly", "no", "--daemonize", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    assert wait_for(lambda: _ping(client), timeout=10), "redis-server did not start"
    yield url
    process.terminate()
    process.wait(timeout=10)


def _ping(client) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def _rows(db) -> dict[int, Delivery]:
    db.session.rollback()
    db.session.expire_all()
    return {r.recipient_id: r for r in db.session.scalars(select(Delivery).where(
        Delivery.kind == "digest"))}


def _send(sender: Celery, ids: list[int]) -> None:
    for delivery_id in ids:
        sender.send_task(SEND_TASK, args=[[delivery_id]])


def test_killed_worker_mid_send_then_requeue_delivers_each_digest_once(
        app, db, database_url, tmp_path, own_redis):
    net = ds.build()
    ids = digests.sweep(ds.NOW)
    db.session.commit()
    assert len(ids) == 5
    sender = Celery(broker=own_redis)
    log1, log2 = tmp_path / "worker1.log", tmp_path / "worker2.log"
    with SmtpSink() as smtp:
        env = worker_env(database_url, tmp_path, REDIS_URL=own_redis, SMTP_HOST="127.0.0.1",
                         SMTP_PORT=str(smtp.port))
        smtp.stall_seconds = 6  # the first DATA hangs: the worker dies inside the send
        with celery_worker(env, log_path=log1) as worker:
            _send(sender, ids)
            sending = wait_for(lambda: [r for r in _rows(db).values() if r.status == "sending"],
                               timeout=60)
            assert sending, log1.read_text()
            time.sleep(1.5)  # inside DATA now
            smtp.responses.append("451 4.3.0 connection lost")  # what the hung DATA ends with
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        killed = sending[0]
        assert killed.message_id and not smtp.messages
        time.sleep(smtp.stall_seconds)
        smtp.stall_seconds = 0
        # the stuck-row sweep (reminders' beat) re-enqueues what the dead worker held
        stuck = deliveries.requeue_stuck(timeutil.now_utc() + timedelta(minutes=11))
        db.session.commit()
        assert [killed.id] in stuck
        with celery_worker(env, log_path=log2):
            for batch in stuck:
                sender.send_task(SEND_TASK, args=[batch])
            settled = wait_for(lambda: all(r.status == "sent" for r in _rows(db).values()),
                               timeout=90)
            assert settled, log2.read_text()
            # a second sweep and a duplicate enqueue change nothing
            assert digests.sweep(ds.NOW + timedelta(minutes=15)) == []
            _send(sender, ids)
            time.sleep(3)
    rows = _rows(db)
    recipients = sorted(m["To"].addresses[0].addr_spec for m in smtp.messages)
    assert recipients == sorted(u.email for u in (net.alice, net.bob, net.mona, net.ada))
    assert rows[killed.recipient_id].message_id == killed.message_id
    by_id = {m["Message-ID"] for m in smtp.messages}
    assert {r.message_id for r in rows.values() if r.sent_at} == by_id
    assert rows[net.vic.id].last_error == "not sent: empty digest"
    for raw in smtp.raw:
        for secret in ds.SECRETS:
            assert secret.encode() not in raw


def test_beat_sweep_task_ledgers_and_sends_through_the_worker(
        app, db, make, database_url, tmp_path, own_redis):
    keen = make.make_user(email="keen@example.org", digest_always=True)
    quiet = make.make_user(email="quiet@example.org")
    make.make_user(email="off@example.org", digest_frequency="off")
    db.session.commit()
    sender = Celery(broker=own_redis)
    log = tmp_path / "worker.log"
    with SmtpSink() as smtp:
        env = worker_env(database_url, tmp_path, REDIS_URL=own_redis, SMTP_HOST="127.0.0.1",
                         SMTP_PORT=str(smtp.port))
        with celery_worker(env, log_path=log):
            sender.send_task("tasks.digests.sweep")
            sender.send_task("tasks.digests.sweep")  # two beats at once
            settled = wait_for(lambda: len(_rows(db)) == 2 and all(
                r.status == "sent" for r in _rows(db).values()), timeout=90)
            assert settled, log.read_text()
            assert wait_for(lambda: smtp.messages, timeout=10)
    rows = _rows(db)
    period = digests.period_for(keen, timeutil.now_utc())
    assert rows[keen.id].dedupe_key == f"digest:{keen.id}:{period.start.isoformat()}"
    assert [m["To"].addresses[0].addr_spec for m in smtp.messages] == ["keen@example.org"]
    assert rows[quiet.id].last_error == "not sent: empty digest"
