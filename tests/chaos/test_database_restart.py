"""PostgreSQL restarted in the middle of a sweep and in the middle of a send batch.

A private cluster (`initdb` + `pg_ctl` on a spare port, tests/support/private_services.py),
never the shared server: the app under test, its worker and the sweep all use it. While it
is down the web answers a friendly 503 page and the API a 503 JSON error, both with
Retry-After; once it is back the same app and the same worker carry on (the engine's
`pool_pre_ping` replaces dead connections: no restart), and every reminder is delivered,
a copy only within the documented bound (docs/operations.md: one per crash between the
SMTP server's acceptance and the `sent` commit, with the same Message-ID).
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy.exc import OperationalError

from crm import create_app
from crm.jobs import run_reminder_sweep
from crm.services import reminders
from tests.chaos.conftest import sender_for
from tests.chaos.helpers import SWEEP_AT, Requeuer, seed, statuses, until_all_sent
from tests.support import factories
from tests.support.http import login
from tests.support.private_services import PrivatePostgres
from tests.support.wait import wait_for_log, wait_until
from tests.support.worker import celery_worker, worker_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

RECIPIENTS = 30
HELD = 6  # the SMTP server holds the 6th email after accepting it; the database stops then


@pytest.fixture
def pg():
    server = PrivatePostgres().init()
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def pg_app(_app, pg, private_redis, monkeypatch):
    """The application on the private cluster (schema by the real migrations), publishing
    to the private Redis. Afterwards the shared limiter and Celery go back to the suite's app."""
    from flask_migrate import upgrade

    from crm.extensions import db, rebind_limiter

    url = pg.create_database("crm_chaos")
    monkeypatch.setenv("DATABASE_URL", url)
    app = create_app("test")
    app.config["CHAOS_DATABASE_URL"] = url
    sender = sender_for(private_redis.url)
    app.extensions["celery"] = sender
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    sender.close()
    _app.extensions["celery"].set_default()
    rebind_limiter(_app)


def _page_is_unavailable(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    assert response.headers["Retry-After"].isdigit()
    body = response.get_data(as_text=True)
    assert "Back in a moment" in body and "Traceback" not in body


def _api_is_unavailable(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    assert response.headers["Retry-After"].isdigit()
    assert response.get_json()["error"]["code"] == "service_unavailable"


def test_postgres_restarted_mid_sweep_and_mid_send_503_while_down_then_all_delivered_once(
        pg_app, pg, private_redis, sink, tmp_path, monkeypatch):
    from crm.extensions import db
    from crm.services.accounts import tokens

    app = pg_app
    with app.app_context():
        emails = seed(RECIPIENTS, "pgdown")
        admin = factories.make_user("admin", email="pg-admin@example.org")
        factories.make_partner(owner=admin, name="Harbour Police")
        _row, token = tokens.create_token(admin, "chaos")
        db.session.commit()
    web = app.test_client()
    login(web, "pg-admin@example.org")
    api_headers = {"Authorization": f"Bearer {token}"}
    assert web.get("/partners/").status_code == 200

    # 1. the database stops in the middle of the sweep: reminders ledgered (flushed), not
    # yet committed
    real_sweep = reminders.sweep

    def sweep_then_the_database_stops(*args, **kwargs):
        result = real_sweep(*args, **kwargs)
        assert sum(len(ids) for ids in result) == RECIPIENTS
        pg.stop()
        return result

    monkeypatch.setattr(reminders, "sweep", sweep_then_the_database_stops)
    with app.app_context(), pytest.raises(OperationalError):
        run_reminder_sweep(app, SWEEP_AT)
    monkeypatch.setattr(reminders, "sweep", real_sweep)

    # down: a friendly page, a JSON error, never a 500
    _page_is_unavailable(web.get("/partners/"))
    _page_is_unavailable(web.get("/"))
    _api_is_unavailable(web.get("/api/v1/partners", headers=api_headers))

    pg.start()  # the same app, no restart: pool_pre_ping replaces the dead connections
    assert web.get("/partners/").status_code == 200
    assert web.get("/api/v1/partners", headers=api_headers).status_code == 200
    with app.app_context():
        assert statuses() == Counter()  # the interrupted sweep left nothing behind
        result = run_reminder_sweep(app, SWEEP_AT)  # the next beat ledgers them all
        assert (result["inserted"], result["enqueued"]) == (RECIPIENTS, RECIPIENTS)

    # 2. the database stops in the middle of a send batch: the SMTP server has accepted
    # the 6th email and holds its answer; the worker's `sent` commit then finds no database
    sink.handler.script = [""] * (HELD - 1) + ["accept-stall:8"]
    env = worker_env(app.config["CHAOS_DATABASE_URL"], tmp_path, REDIS_URL=private_redis.url,
                     SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port,
                     DELIVERY_RETRY_BASE_SECONDS="1", SMTP_TIMEOUT="20")
    log = tmp_path / "worker.log"
    with celery_worker(env, log_path=log) as worker:
        wait_for_log(log, "ready", worker)
        wait_until(lambda: len(sink.handler.messages) >= HELD, timeout=90,
                   message=lambda: f"{HELD} emails at the server\n{log.read_text()[-3000:]}")
        pg.stop()
        _page_is_unavailable(web.get("/partners/"))
        _api_is_unavailable(web.get("/api/v1/partners", headers=api_headers))
        # the worker goes on taking tasks it cannot run (the ledger keeps their rows)
        wait_until(lambda: private_redis.client().llen("celery") == 0, timeout=90,
                   message=lambda: f"the queue drained\n{log.read_text()[-3000:]}")
        pg.start()
        assert web.get("/partners/").status_code == 200
        with app.app_context():
            requeue = Requeuer(app)
            until_all_sent(requeue, lambda: private_redis.client().llen("celery"),
                           RECIPIENTS, lambda: log.read_text(errors="replace")[-3000:])
    assert "OperationalError" in log.read_text(errors="replace")  # the outage was felt
    ids = sink.handler.message_ids()
    resends = sum(n - 1 for n in ids.values())
    print(f"\npostgres restarts: 2, {sum(ids.values())} emails received, {len(ids)} distinct "
          f"Message-IDs, {resends} resent (same Message-ID), {requeue.requeued} requeued")
    assert len(ids) == RECIPIENTS  # every reminder, each its own email
    recipients = {m["To"].split("<")[-1].rstrip(">") for m in sink.handler.messages}
    assert recipients == set(emails)
    assert resends <= 1, ids  # the documented bound: the one email held during the outage
