"""Exactly-once delivery through real `celery worker` subprocesses, a private Redis and aiosmtpd.

The clock is passed explicitly (`run_sweep(app, now)`); "later" sweeps pass a time past the
stuck-row age so rows left behind by a crash or a flushed broker are re-enqueued.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections import Counter
from datetime import timedelta

import pytest
import redis
from celery import Celery
from sqlalchemy import insert

import config
from crm.celery_app import SEND_TASK
from crm.jobs import run_reminder_sweep as run_sweep
from crm.lib import timeutil
from crm.models import FollowUp
from tests.reminders.helpers import local, rows
from tests.reminders.smtp import SMTPServer
from tests.support.blackhole import Blackhole, finishes
from tests.support.http import post_form
from tests.support.services import free_port
from tests.support.wait import wait_for_log, wait_until
from tests.support.worker import celery_worker, wait_for, worker_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.skipif(not shutil.which("redis-server"),
                                 reason="redis-server binary needed for a private Redis")]

ZONES = ("Europe/Paris", "America/New_York", "Asia/Bangkok", "Africa/Nairobi",
         "Australia/Sydney")


class PrivateRedis:
    """Our own redis-server on a free port: safe to FLUSHDB and to stop."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        assert wait_for(lambda: _pings(client), timeout=10), "private redis did not start"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2)


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def private_redis():
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def smtp():
    with SMTPServer() as server:
        yield server


@pytest.fixture
def broker(app, private_redis, smtp, monkeypatch):
    """The in-process app enqueues to the private Redis (as the beat's app would)."""
    if private_redis.process.poll() is not None:
        private_redis.start()
    private_redis.client().flushdb()
    smtp.handler.script.clear()
    smtp.handler.messages.clear()
    smtp.handler.attempts = 0
    sender = Celery(broker=private_redis.url)
    sender.conf.update(broker_transport_options={"socket_timeout": 2,
                                                 "socket_connect_timeout": 1},
                       broker_connection_timeout=1, broker_connection_retry=False)
    monkeypatch.setitem(app.extensions, "celery", sender)
    yield private_redis
    sender.close()


@pytest.fixture
def env(database_url, tmp_path, private_redis, smtp):
    return worker_env(database_url, tmp_path, REDIS_URL=private_redis.url,
                      SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port,
                      DELIVERY_RETRY_BASE_SECONDS="1", SMTP_TIMEOUT="20")


def _worker(env, tmp_path, name="worker", **kw):
    return celery_worker(env, log_path=tmp_path / f"{name}.log", **kw)


def _log(tmp_path) -> str:
    return "\n".join(p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("*.log"))


def _statuses(db) -> Counter:
    return Counter(r.status for r in rows(db))


def _later():
    """A sweep time past the stuck-row age (DELIVERY_STUCK_MINUTES = 10)."""
    return timeutil.now_utc() + timedelta(minutes=11)


def _today(hour: int, minute: int = 0):
    """`hour`:`minute` UTC today: follow-ups due today are not overdue at `_later()`, so a
    sweep there only requeues (an older one would also get its late overdue reminder)."""
    return local("UTC", *timeutil.now_utc().timetuple()[:3], hour, minute)


def test_1000_follow_ups_50_users_5_zones_each_gets_one_email_at_local_eight(
        app, db, make, broker, smtp, env, tmp_path):
    users = [make.make_user(timezone=ZONES[i % 5], email=f"r{i}@example.org")
             for i in range(50)]
    partner = make.make_partner(owner=users[0])
    day = (2025, 9, 17)
    db.session.execute(insert(FollowUp), [
        {"title": f"Task {u.id}-{n}", "partner_id": partner.id, "assignee_id": u.id,
         "due_at": local(u.timezone, *day, 9 + n % 8, 0), "status": "open", "version": 1}
        for u in users for n in range(20)])
    db.session.commit()
    eights = sorted((local(tz, *day, 8, 0), tz) for tz in ZONES)
    with _worker(env, tmp_path, concurrency=2):
        for moment, tz in eights:
            assert run_sweep(app, moment - timedelta(minutes=1))["inserted"] == 0, tz
            result = run_sweep(app, moment)
            assert (result["inserted"], result["emails"], result["enqueued"]) == (200, 10, 10)
            assert run_sweep(app, moment + timedelta(minutes=1))["inserted"] == 0
        assert wait_for(lambda: _statuses(db) == Counter(sent=1000), timeout=120), (
            _statuses(db), _log(tmp_path))
    ids = smtp.handler.message_ids()
    assert len(ids) == 50 and set(ids.values()) == {1}, "a duplicate Message-ID"
    for user in users:
        [message] = smtp.handler.for_recipient(user.email)
        text = message.get_payload()[0].get_payload(decode=True).decode()
        assert text.count("Mark done:") == 20
        items = re.findall(r"\] (Task \d+-\d+)\s", text)
        assert sorted(items) == sorted(f"Task {user.id}-{n}" for n in range(20)), "an item"
    assert {r.message_id for r in rows(db)} == set(ids)


def test_sigkill_while_sending_then_a_new_worker_delivers_with_the_same_message_id(
        app, db, make, broker, smtp, env, tmp_path):
    user = make.make_user(timezone="UTC", email="killed@example.org")
    partner = make.make_partner(owner=user)
    for n in range(3):
        make.make_follow_up(partner, user, due_at=_today(12, n))
    db.session.commit()
    smtp.handler.script = ["accept-stall:30"]  # accepted by the server, no 250 yet
    with _worker(env, tmp_path, name="first") as first:
        run_sweep(app, _today(8))
        assert wait_for(lambda: smtp.handler.messages, timeout=60), _log(tmp_path)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    assert _statuses(db) == Counter(sending=3)
    with _worker(env, tmp_path, name="second"):
        # PostgreSQL frees the killed worker's row locks once it notices the dropped
        # connection; until then SKIP LOCKED rightly leaves the rows to a later sweep.
        requeued = []

        def sweep_until_all_requeued():
            requeued.append(run_sweep(app, _later())["requeued"])
            return sum(requeued) == 3

        assert wait_for(sweep_until_all_requeued, timeout=30, interval=0.5), requeued
        assert wait_for(lambda: _statuses(db) == Counter(sent=3), timeout=60), _log(tmp_path)
    ids = smtp.handler.message_ids()
    # the documented bound: one re-send per crash inside the acceptance window, same Message-ID
    assert len(ids) == 1 and list(ids.values()) == [2]
    assert {r.attempts for r in rows(db)} == {2}


def test_flushdb_right_after_a_sweep_loses_nothing(app, db, make, broker, smtp, env, tmp_path):
    users = [make.make_user(timezone="UTC") for _ in range(3)]
    partner = make.make_partner(owner=users[0])
    for user in users:
        make.make_follow_up(partner, user, due_at=_today(12))
    db.session.commit()
    assert run_sweep(app, _today(8))["enqueued"] == 3
    broker.client().flushdb()
    assert broker.client().dbsize() == 0  # the broker lost the tasks: nothing to consume
    with _worker(env, tmp_path) as worker:
        wait_for_log(tmp_path / "worker.log", "ready", worker)
        assert _statuses(db) == Counter(queued=3)
        assert run_sweep(app, _later())["requeued"] == 3
        wait_until(lambda: _statuses(db) == Counter(sent=3), timeout=60,
                   message=lambda: f"3 sent: {_statuses(db)}\n{_log(tmp_path)}")
    assert sorted(smtp.handler.message_ids().values()) == [1, 1, 1]


def _one_due(make, db, email, day):
    """A user with one follow-up due on September `day`; earlier ones are closed first."""
    db.session.query(FollowUp).update({"status": "done"})
    user = make.make_user(timezone="UTC", email=email)
    make.make_follow_up(make.make_partner(owner=user), user,
                        due_at=local("UTC", 2025, 9, day, 12, 0))
    db.session.commit()
    return user


def test_smtp_451_twice_then_accept_550_fails_and_a_stall_times_out_then_delivers_once(
        app, db, make, broker, smtp, env, tmp_path):
    with _worker({**env, "SMTP_TIMEOUT": "3"}, tmp_path):
        _one_due(make, db, "flaky@example.org", 17)
        smtp.handler.script = ["451 4.3.0 try later", "451 4.3.0 try later"]
        run_sweep(app, local("UTC", 2025, 9, 17, 8, 0))
        assert wait_for(lambda: _statuses(db) == Counter(sent=1), timeout=60), _log(tmp_path)
        assert smtp.handler.attempts == 3 and sum(smtp.handler.message_ids().values()) == 1
        assert rows(db)[0].attempts == 3

        _one_due(make, db, "gone@example.org", 18)
        smtp.handler.script = ["550 5.1.1 no such mailbox"]
        run_sweep(app, local("UTC", 2025, 9, 18, 8, 0))
        assert wait_for(lambda: _statuses(db)["failed"] == 1, timeout=60), _log(tmp_path)
        failed = rows(db, status="failed")[0]
        assert "550" in failed.last_error and failed.attempts == 1
        assert smtp.handler.attempts == 4

        _one_due(make, db, "slow@example.org", 19)
        smtp.handler.script = ["stall:30"]  # a server that says nothing
        before = set(smtp.handler.message_ids())
        run_sweep(app, local("UTC", 2025, 9, 19, 8, 0))
        wait_until(lambda: any(r.status == "sent" for r in _rows_of(db, "slow@")),
                   timeout=90, message=lambda: f"slow@ sent\n{_log(tmp_path)}")
    [row] = _rows_of(db, "slow@")
    assert row.attempts == 2
    # no retry after the 5xx: by now (two sends and a 3 s timeout later, with retries due
    # after 1-2 s) a retry of the 550 would have been one more DATA and one more attempt
    assert smtp.handler.attempts == 6
    assert rows(db, status="failed")[0].attempts == 1
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert "timed out" in log  # smtplib's timeout cut the stall; the task retried it
    new_ids = Counter({k: v for k, v in smtp.handler.message_ids().items() if k not in before})
    assert list(new_ids.values()) == [1] and row.message_id in new_ids


def _rows_of(db, prefix):
    from crm.models import Delivery, User

    db.session.expire_all()
    return db.session.query(Delivery).join(User, User.id == Delivery.recipient_id).filter(
        User.email.startswith(prefix)).all()


@pytest.fixture(params=["dropped", "silent"])
def blackholed(request, app, broker, monkeypatch):
    """The in-process app's broker is an address that never answers (SYNs dropped, or
    accepted and then silent), with the production Celery settings (config/__init__.py:
    socket and connection timeouts), as a web process behind a broken route would have."""
    with Blackhole(request.param) as hole:
        monkeypatch.setenv("REDIS_URL", hole.url)
        sender = Celery()
        sender.config_from_object(config.TestConfig().CELERY)
        hole.answering = app.extensions["celery"]  # the private Redis, for "back up"
        monkeypatch.setitem(app.extensions, "celery", sender)
        yield hole
        sender.close()


#: a bound on a hang, not a speed claim: one publish is cut by the broker timeouts (2 s to
#: connect, 5 s to read)
REQUEST_BOUND = 40


def _in_context(app, job):
    with app.app_context():
        return job(app)


def test_blackholed_broker_requests_still_answer_and_the_sweep_delivers_later(
        app, client, db, make, blackholed, smtp, env, tmp_path, login_as):
    """Logging an interaction (no broker at all) and inviting a user (which enqueues the
    invitation email after its commit) both answer while the broker never replies; the
    database holds both emails' rows, and once a broker is back the sweep delivers them."""
    admin = make.make_user("admin", timezone="UTC", email="offline@example.org")
    partner = make.make_partner(owner=admin, name="Harbour Police")
    login_as(admin)

    def client_post(path, data, token_from):
        return finishes(lambda: post_form(client, path, data, token_from=token_from),
                        REQUEST_BOUND, f"POST {path} with a blackholed broker")

    yesterday = (timeutil.now_utc() - timedelta(days=1)).date()
    logged = client_post("/interactions/new", {
        "partner_id": partner.id, "kind": "call",
        "occurred_at": timeutil.now_utc().strftime("%Y-%m-%dT%H:%M"),
        "summary": "Agreed a training date", "follow_up_title": "Send the training plan",
        "follow_up_due": yesterday.isoformat(), "follow_up_assignee_id": admin.id},
        f"/interactions/new?partner_id={partner.id}")
    assert logged.status_code == 302, logged.get_data(as_text=True)[:2000]
    invited = client_post("/admin/users/new", {
        "email": "newcomer@example.org", "name": "Newcomer", "role": "staff",
        "timezone": "UTC", "region_scope": ""}, "/admin/users/new")
    assert invited.status_code == 302, invited.get_data(as_text=True)[:2000]
    assert _statuses(db) == Counter(queued=1)  # the invitation: stored, the publish failed
    # the beat runs while the broker is blackholed: the ledger keeps the work
    result = finishes(lambda: _in_context(app, run_sweep), REQUEST_BOUND, "a sweep")
    assert (result["inserted"], result["enqueued"], result["not_enqueued"]) == (1, 0, 1)
    assert _statuses(db) == Counter(queued=2)
    app.extensions["celery"] = blackholed.answering  # the broker is back
    with _worker(env, tmp_path) as worker:
        wait_for_log(tmp_path / "worker.log", "ready", worker)
        assert run_sweep(app, _later())["requeued"] == 2
        wait_until(lambda: _statuses(db) == Counter(sent=2), timeout=60,
                   message=lambda: f"both emails sent: {_statuses(db)}\n{_log(tmp_path)}")
    [reminder] = smtp.handler.for_recipient("offline@example.org")
    assert "Send the training plan" in reminder.get_payload()[0].get_payload(
        decode=True).decode()
    assert len(smtp.handler.for_recipient("newcomer@example.org")) == 1
    assert sorted(smtp.handler.message_ids().values()) == [1, 1]


def test_through_the_worker_admins_and_owners_get_no_restricted_name_or_title(
        app, db, make, broker, smtp, env, tmp_path):
    """Rule 11 on the real path: mail leaves the application, so even the owner and an
    admin read "a follow-up with a restricted partner" and a link, never the name."""
    admin = make.make_user("admin", timezone="UTC", email="ada-w@example.org")
    owner = make.make_user(timezone="UTC", email="owner-w@example.org")
    restricted = make.make_partner(owner=owner, name="CANARY-W-RESTRICTED Unit",
                                   sensitivity="restricted")
    confidential = make.make_partner(owner=admin, name="CANARY-W-CONF Ministry",
                                     sensitivity="confidential")
    harbour = make.make_partner(owner=owner, name="Open Harbour Org")
    meeting = make.make_interaction(harbour, owner, sensitivity="confidential",
                                    summary="CANARY-W-MEETING")
    due = local("UTC", 2025, 9, 17, 12, 0)
    make.make_follow_up(restricted, owner, title="CANARY-W-FU-R", due_at=due)
    secret_fu = make.make_follow_up(confidential, admin, title="CANARY-W-FU-C", due_at=due)
    make.make_follow_up(harbour, owner, title="CANARY-W-FU-FROM-MEETING", due_at=due,
                        interaction=meeting)
    make.make_follow_up(harbour, owner, title="Open harbour visit", due_at=due)
    db.session.commit()
    with _worker(env, tmp_path):
        run_sweep(app, local("UTC", 2025, 9, 17, 8, 0))
        assert wait_for(lambda: _statuses(db) == Counter(sent=4), timeout=60), _log(tmp_path)
    assert len(smtp.handler.messages) == 2
    bodies = {}
    for message in smtp.handler.messages:
        parts = [p.get_payload(decode=True).decode() for p in message.get_payload()]
        assert "CANARY-W" not in message.as_string() + "".join(parts), message["To"]
        bodies[message["To"].split("<")[-1].rstrip(">")] = parts
    for part in bodies["owner-w@example.org"]:
        assert "A follow-up with a restricted partner" in part
        assert "A restricted follow-up with Open Harbour Org" in part
        assert "Open harbour visit" in part  # a standard follow-up keeps its title
    for part in bodies["ada-w@example.org"]:
        assert "A follow-up with a restricted partner" in part
        assert f"/partners/{confidential.id}#follow-up-{secret_fu.id}" in part


def _succeeded(log) -> int:
    """How many tasks a worker's log says it finished."""
    return len(re.findall(r"Task tasks\.delivery\.send\[[^\]]+\] succeeded",
                          log.read_text(errors="replace")))


def test_two_workers_racing_on_the_same_200_rows_send_each_exactly_once(
        app, db, make, broker, smtp, env, tmp_path):
    """Two `celery worker` processes, and every row's send task enqueued twice in a row so
    that both workers claim the same row at the same moment: every row leaves exactly once
    (one DATA per Message-ID at the SMTP server, one attempt per row) and both did work."""
    users = [make.make_user(timezone="UTC", email=f"pair{i}@example.org") for i in range(200)]
    partner = make.make_partner(owner=users[0])
    due = local("UTC", 2025, 9, 17, 12, 0)
    db.session.execute(insert(FollowUp), [
        {"title": f"Task {u.id}", "partner_id": partner.id, "assignee_id": u.id,
         "due_at": due, "status": "open", "version": 1} for u in users])
    db.session.commit()
    assert run_sweep(app, local("UTC", 2025, 9, 17, 8, 0))["emails"] == 200
    broker.client().flushdb()  # the sweep's own 200 messages: re-sent below, doubled
    ids = [r.id for r in rows(db)]
    logs = [tmp_path / "one.log", tmp_path / "two.log"]
    with _worker(env, tmp_path, name="one") as one, _worker(env, tmp_path, name="two") as two:
        wait_for_log(logs[0], "ready", one)
        wait_for_log(logs[1], "ready", two)
        sender = app.extensions["celery"]
        with sender.producer_or_acquire() as producer:
            for delivery_id in ids:
                for _ in range(2):  # the same row, back to back: one for each worker
                    sender.send_task(SEND_TASK, args=[[delivery_id]], producer=producer)
        wait_until(lambda: sum(_succeeded(log) for log in logs) == 400, timeout=240,
                   message=lambda: f"400 tasks done: {_statuses(db)}\n{_log(tmp_path)}")
    assert _statuses(db) == Counter(sent=200)
    per_worker = [_succeeded(log) for log in logs]
    assert min(per_worker) > 0, f"one worker did nothing: {per_worker}"
    ids_at_server = smtp.handler.message_ids()
    assert len(ids_at_server) == 200 and set(ids_at_server.values()) == {1}, (
        [k for k, n in ids_at_server.items() if n > 1])
    assert smtp.handler.attempts == 200  # no second DATA, not even a refused one
    ledger = rows(db)
    assert {r.message_id for r in ledger} == set(ids_at_server)
    # a row re-claimed by the second task counts a second attempt, yet is sent once
    assert all(r.sent_at and r.attempts in (1, 2) for r in ledger)
    recipients = Counter(m["To"].split("<")[-1].rstrip(">") for m in smtp.handler.messages)
    assert recipients == Counter({u.email: 1 for u in users})


def test_the_beat_task_tasks_reminders_sweep_run_by_a_real_worker_ledgers_and_sends(
        app, db, make, broker, smtp, env, tmp_path):
    """`tasks.reminders.sweep` as beat sends it (by name, through the broker): the worker
    runs the sweep, which ledgers the due reminders and enqueues them, and the same worker
    sends them. A second beat for the same moment adds nothing."""
    users = [make.make_user(timezone="UTC", email=f"beat{i}@example.org") for i in range(3)]
    partner = make.make_partner(owner=users[0])
    for user in users:
        for n in range(2):
            make.make_follow_up(partner, user, title=f"Beat task {user.id}-{n}",
                                due_at=local("UTC", 2025, 9, 17, 12, n))
    make.make_follow_up(partner, users[0], title="Not due yet",
                        due_at=local("UTC", 2025, 9, 20, 12, 0))
    db.session.commit()
    sender = app.extensions["celery"]
    at = local("UTC", 2025, 9, 17, 8, 0).isoformat()
    log = tmp_path / "worker.log"
    with _worker(env, tmp_path) as worker:
        wait_for_log(log, "ready", worker)
        sender.send_task("tasks.reminders.sweep", args=[at])
        wait_until(lambda: _statuses(db) == Counter(sent=6), timeout=90,
                   message=lambda: f"6 reminders sent: {_statuses(db)}\n{_log(tmp_path)}")
        sender.send_task("tasks.reminders.sweep", args=[at])  # a second beat, same moment
        wait_until(lambda: log.read_text(errors="replace").count(
            "Task tasks.reminders.sweep[") >= 4, timeout=60,  # received + succeeded, twice
            message=lambda: f"the second sweep to finish\n{_log(tmp_path)}")
    assert "succeeded" in log.read_text(errors="replace")
    assert "'inserted': 0" in log.read_text(errors="replace")  # the second beat's result
    assert _statuses(db) == Counter(sent=6)
    assert {r.kind for r in rows(db)} == {"reminder_due"}
    assert sorted(smtp.handler.message_ids().values()) == [1, 1, 1]
    for user in users:
        [message] = smtp.handler.for_recipient(user.email)
        text = message.get_payload()[0].get_payload(decode=True).decode()
        assert f"Beat task {user.id}-0" in text and f"Beat task {user.id}-1" in text
        assert "Not due yet" not in text
