"""A task round-trips through a real Celery worker: on Redis, and on the embedded broker."""

from __future__ import annotations

import uuid

import pytest
from celery import Celery
from sqlalchemy import select

import config
from crm.models import SiteSetting
from tests.support import services
from tests.support.wait import wait_for_log, wait_until
from tests.support.worker import celery_worker, worker_env


def _pong(db, token: str):
    db.session.rollback()
    return db.session.scalar(select(SiteSetting).where(SiteSetting.key == f"ping:{token}"))


@pytest.mark.redis
def test_task_enqueued_to_redis_is_run_by_a_real_worker(app, db, database_url, tmp_path):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = worker_env(database_url, tmp_path, REDIS_URL=services.TEST_REDIS_URL)
    sender = Celery(broker=services.TEST_REDIS_URL)
    token = uuid.uuid4().hex
    log = tmp_path / "worker.log"
    with celery_worker(env, queues=queue, log_path=log) as worker:
        wait_for_log(log, "ready", worker)
        sender.send_task("tasks.misc.ping", args=[token], queue=queue)
        wait_until(lambda: _pong(db, token), timeout=60,
                   message=lambda: f"the ping's row\n{log.read_text()[-3000:]}")


def test_task_round_trips_through_the_embedded_filesystem_broker(app, db, database_url,
                                                                  tmp_path, monkeypatch):
    """What `make run` uses when REDIS_URL is unset: no server at all."""
    env = worker_env(database_url, tmp_path)
    token = uuid.uuid4().hex
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    celery_conf = config.TestConfig().CELERY
    assert celery_conf["broker_url"] == "filesystem://"
    sender = Celery()
    sender.config_from_object(celery_conf)
    log = tmp_path / "worker.log"
    with celery_worker(env, log_path=log) as worker:
        wait_for_log(log, "ready", worker)
        sender.send_task("tasks.misc.ping", args=[token])
        wait_until(lambda: _pong(db, token), timeout=60,
                   message=lambda: f"the ping's row\n{log.read_text()[-3000:]}")
