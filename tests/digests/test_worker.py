"""End to end through a real `celery -A tasks worker`, our own Redis and a real SMTP server:
a worker killed in the middle of a send loses nothing and sends nothing twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
from collections import Counter
from datetime import timedelta
from email import message_from_bytes, policy

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
from tests.support.wait import wait_for_log, wait_until
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


def _send(sender: Celery, ids: list[int]) -> list[str]:
    """One send task per row; the task ids, to find each task's line in a worker's log."""
    return [sender.send_task(SEND_TASK, args=[[delivery_id]]).id for delivery_id in ids]


class HoldingSink(SmtpSink):
    """The shared aiosmtpd sink, counting every DATA command by Message-ID: `started` (the
    message has been transmitted and the server has not answered yet: "inside DATA"),
    `answered` (with the answer) and `dropped` (the client vanished while its DATA was
    held, so the server answered nothing and kept nothing). While `holding` is set the
    next DATA is held unanswered until `release(answer)`; `held` is set when one is held."""

    def __init__(self) -> None:
        super().__init__()
        self.started: list[str] = []  # Message-IDs, in the order their DATA began
        self.answered: list[tuple[str, str]] = []  # (Message-ID, answer)
        self.dropped: list[str] = []  # held DATA whose client vanished before an answer
        self.holding = threading.Event()
        self.held = threading.Event()
        self._release = threading.Event()
        self._answer = "250 Message accepted for delivery"
        self.controller.handler = _HoldingHandler(self)

    def release(self, answer: str) -> None:
        self._answer = answer
        self.holding.clear()
        self._release.set()


class _HoldingHandler:
    def __init__(self, sink: HoldingSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        sink = self.sink
        message = message_from_bytes(envelope.content, policy=policy.default)
        message_id = str(message["Message-ID"])
        with sink.lock:
            sink.started.append(message_id)
        answer = "250 Message accepted for delivery"
        if sink.holding.is_set():
            sink.held.set()
            # wait off the event loop (the sink keeps serving) until the test releases it
            try:
                await asyncio.get_running_loop().run_in_executor(None, sink._release.wait, 120)
            except asyncio.CancelledError:  # the client's connection is gone
                with sink.lock:
                    sink.dropped.append(message_id)
                raise
            answer = sink._answer
        with sink.lock:
            sink.answered.append((message_id, answer))
            if answer.startswith("250"):
                sink.messages.append(message)
                sink.raw.append(envelope.content)
        return answer


def test_killed_worker_inside_data_then_requeue_delivers_each_digest_once(
        app, db, database_url, tmp_path, own_redis):
    """The worker is SIGKILLed while the SMTP server holds its DATA (the message sent, no
    answer yet), as the sink's counters prove; the server sees the client vanish and keeps
    nothing (aiosmtpd drops the transaction), so the documented outcome is: nothing lost,
    and each digest delivered exactly once, the killed one by the stuck-row sweep with the
    Message-ID it was first sent with (docs/operations.md, "The guarantee"; the other case,
    a server that kept the message, is the bound of one extra copy with the same
    Message-ID: tests/reminders/test_worker_delivery.py::test_sigkill_while_sending_then_a_new_worker_delivers_with_the_same_message_id)."""
    net = ds.build()
    ids = digests.sweep(ds.NOW)
    db.session.commit()
    assert len(ids) == 5
    sender = Celery(broker=own_redis)
    log1, log2 = tmp_path / "worker1.log", tmp_path / "worker2.log"
    with HoldingSink() as smtp:
        env = worker_env(database_url, tmp_path, REDIS_URL=own_redis, SMTP_HOST="127.0.0.1",
                         SMTP_PORT=str(smtp.port), SMTP_TIMEOUT="60")
        smtp.holding.set()
        with celery_worker(env, log_path=log1) as worker:
            wait_for_log(log1, "ready", worker)
            _send(sender, ids)
            wait_until(smtp.held.is_set, timeout=90,
                       message=lambda: f"a DATA held by the sink\n{log1.read_text()[-3000:]}")
            sending = [r for r in _rows(db).values() if r.status == "sending"]
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        # the kill happened inside DATA: one DATA began, none was answered, and it carried
        # the Message-ID the claim committed before any SMTP traffic
        assert len(smtp.started) == 1 and smtp.answered == [], (smtp.started, smtp.answered)
        [killed] = sending
        assert smtp.started == [killed.message_id]
        wait_until(lambda: smtp.dropped, timeout=30,
                   message="the sink to see the killed client's connection drop")
        assert smtp.dropped == [killed.message_id] and not smtp.messages
        assert smtp.answered == []  # the held DATA never got an answer
        smtp.release("250 Message accepted for delivery")  # the next DATAs pass
        statuses = Counter(r.status for r in _rows(db).values())
        assert statuses == Counter(sending=1, queued=4), statuses
        # the stuck-row sweep (reminders' beat) re-enqueues what the dead worker held, once
        # PostgreSQL has dropped the dead worker's connection and with it the row lock
        stuck: list[list[int]] = []

        def requeued() -> bool:
            stuck.extend(deliveries.requeue_stuck(timeutil.now_utc() + timedelta(minutes=11)))
            db.session.commit()
            return [killed.id] in stuck

        wait_until(requeued, timeout=60, interval=0.5, message="the killed row requeued")
        with celery_worker(env, log_path=log2) as worker:
            wait_for_log(log2, "ready", worker)
            for batch in stuck:
                sender.send_task(SEND_TASK, args=[batch])
            wait_until(lambda: all(r.status == "sent" for r in _rows(db).values()),
                       timeout=90, message=lambda: f"all sent\n{log2.read_text()[-3000:]}")
            # a second sweep and a duplicate enqueue change nothing
            assert digests.sweep(ds.NOW + timedelta(minutes=15)) == []
            # each duplicate task (found by its id: the dead worker's unacknowledged tasks
            # may reach this worker too) finishes, and changes nothing
            duplicates = _send(sender, ids)
            wait_until(lambda: all(f"[{task}] succeeded" in log2.read_text(errors="replace")
                                   for task in duplicates), timeout=120,
                       message=lambda: f"the duplicates consumed\n{log2.read_text()[-3000:]}")
    rows = _rows(db)
    recipients = sorted(m["To"].addresses[0].addr_spec for m in smtp.messages)
    assert recipients == sorted(u.email for u in (net.alice, net.bob, net.mona, net.ada))
    assert rows[killed.recipient_id].message_id == killed.message_id
    assert rows[killed.recipient_id].attempts == 2
    by_id = Counter(str(m["Message-ID"]) for m in smtp.messages)
    assert set(by_id.values()) == {1}, "a digest delivered twice"
    assert {r.message_id for r in rows.values() if r.sent_at} == set(by_id)
    # the sink saw the killed digest's DATA twice (killed, then sent) and every other once
    assert Counter(smtp.started) == Counter({**{m: 1 for m in by_id}, killed.message_id: 2})
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
        with celery_worker(env, log_path=log) as worker:
            wait_for_log(log, "ready", worker)
            sender.send_task("tasks.digests.sweep")
            sender.send_task("tasks.digests.sweep")  # two beats at once
            wait_until(lambda: len(_rows(db)) == 2 and all(
                r.status == "sent" for r in _rows(db).values()), timeout=90,
                message=lambda: f"both digests settled\n{log.read_text()[-3000:]}")
            wait_until(lambda: log.read_text().count("Task tasks.digests.sweep[") == 4,
                       timeout=60, message="both beats received and finished")
    rows = _rows(db)
    period = digests.period_for(keen, timeutil.now_utc())
    assert rows[keen.id].dedupe_key == f"digest:{keen.id}:{period.start.isoformat()}"
    assert [m["To"].addresses[0].addr_spec for m in smtp.messages] == ["keen@example.org"]
    assert rows[quiet.id].last_error == "not sent: empty digest"
