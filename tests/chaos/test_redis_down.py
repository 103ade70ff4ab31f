"""Redis stopped while users sign in: Redis is the limiter's storage and the broker.

A private redis-server (never the shared one). With it up, failed sign-ins are counted in
Redis and the sweep's emails wait in its queue. It is stopped: the queue dies with it.
While it is down sign-in is still rate-limited (Flask-Limiter's per-process in-memory
fallback, `RATELIMIT_IN_MEMORY_FALLBACK_ENABLED`), pages are still served, and an action
that sends an email (an invitation) still succeeds, its email kept in the ledger. Once
Redis is back a worker delivers every email exactly once (the stuck-row requeue re-enqueues
what the dead broker held): nothing queued is lost.
"""

from __future__ import annotations

from collections import Counter
from contextlib import suppress

import pytest

from crm import create_app
from crm.jobs import run_reminder_sweep
from tests.chaos.conftest import sender_for
from tests.chaos.helpers import SWEEP_AT, Requeuer, seed, statuses, until_all_sent
from tests.support.factories import PASSWORD
from tests.support.http import csrf_token, login, post_form
from tests.support.wait import wait_for_log
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def redis_app(app, private_redis):
    """The app with the private Redis as its limiter storage and its broker (as in
    production, where both are REDIS_URL), on the test database."""
    from crm.extensions import db, limiter, rebind_limiter

    limited = create_app("test", RATELIMIT_STORAGE_URI=private_redis.url)
    sender = sender_for(private_redis.url)
    limited.extensions["celery"] = sender
    yield limited
    with limited.app_context():
        db.session.remove()
        db.engine.dispose()
    sender.close()
    app.extensions["celery"].set_default()
    rebind_limiter(app)  # the shared limiter back on the suite's storage
    with suppress(Exception):
        limiter.reset()


def _client_at(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _wrong_sign_in(client, email: str) -> int:
    return client.post("/login", data={"email": email, "password": "not the password",
                                       "csrf_token": csrf_token(client, "/login")}).status_code


def test_redis_stopped_while_users_sign_in_limits_hold_pages_serve_nothing_queued_is_lost(
        app, db, make, redis_app, private_redis, sink, env, tmp_path):
    target = make.make_user(email="target@example.org")
    admin = make.make_user("admin", email="redis-admin@example.org")
    make.make_partner(owner=admin, name="Harbour Police")
    db.session.commit()
    emails = seed(3, "queued")
    assert run_reminder_sweep(redis_app, SWEEP_AT)["enqueued"] == 3
    redis = private_redis.client()
    assert redis.llen("celery") == 3  # the three emails wait in the broker

    attacker = _client_at(redis_app, "198.51.100.7")
    assert [_wrong_sign_in(attacker, target.email) for _ in range(3)] == [401] * 3
    assert any(b"LIMITER" in key for key in redis.scan_iter()), "the limiter did not use Redis"

    private_redis.stop()  # the limiter's storage and the broker, queue and all, are gone

    # still rate-limited, per process: the count starts again in memory, and still stops
    statuses_while_down = [_wrong_sign_in(attacker, target.email) for _ in range(6)]
    print(f"\nsign-in answers with Redis down: {statuses_while_down}")
    assert 429 in statuses_while_down, statuses_while_down
    assert statuses_while_down[statuses_while_down.index(429):] == [429] * (
        6 - statuses_while_down.index(429))
    # a right password from elsewhere signs in; pages are served
    staff = _client_at(redis_app, "198.51.100.8")
    assert login(staff, target, PASSWORD).status_code == 302
    assert staff.get("/").status_code == 200
    assert staff.get("/partners/").status_code == 200
    # an action that sends an email succeeds; its email waits in the ledger
    office = _client_at(redis_app, "198.51.100.9")
    login(office, admin)
    invited = post_form(office, "/admin/users/new", {
        "email": "newcomer@example.org", "name": "Newcomer", "role": "staff",
        "timezone": "UTC", "region_scope": ""}, token_from="/admin/users/new")
    assert invited.status_code == 302, invited.get_data(as_text=True)[:2000]
    assert statuses() == Counter(queued=4)

    private_redis.start()  # back, empty
    assert redis.llen("celery") == 0
    log = tmp_path / "worker.log"
    with celery_worker(env, log_path=log) as worker:
        wait_for_log(log, "ready", worker)
        requeue = Requeuer(redis_app)
        until_all_sent(requeue, lambda: redis.llen("celery"), 4,
                       lambda: log.read_text(errors="replace")[-3000:], timeout=90)
    ids = sink.handler.message_ids()
    assert sorted(ids.values()) == [1, 1, 1, 1], ids  # each email once
    recipients = sorted(m["To"].split("<")[-1].rstrip(">") for m in sink.handler.messages)
    assert recipients == sorted([*emails, "newcomer@example.org"])
