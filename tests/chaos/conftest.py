"""Fixtures of the chaos tests: a private Redis (broker) and a scripted SMTP sink."""

from __future__ import annotations

import pytest
from celery import Celery

from tests.reminders.smtp import SMTPServer
from tests.support.private_services import PrivateRedis
from tests.support.worker import worker_env


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sink():
    """aiosmtpd; `sink.handler.message_ids()` counts the copies of each Message-ID."""
    with SMTPServer() as server:
        yield server


def sender_for(url: str) -> Celery:
    """A Celery app that publishes to `url` and gives up fast (as the web's would)."""
    sender = Celery(broker=url)
    sender.conf.update(broker_transport_options={"socket_timeout": 2,
                                                 "socket_connect_timeout": 1},
                       broker_connection_timeout=1, broker_connection_retry=False)
    return sender


@pytest.fixture
def broker(app, private_redis, monkeypatch):
    """The in-process app (the sweep, the web) enqueues to the private Redis."""
    sender = sender_for(private_redis.url)
    monkeypatch.setitem(app.extensions, "celery", sender)
    yield private_redis
    sender.close()


@pytest.fixture
def env(database_url, tmp_path, private_redis, sink):
    """A worker's environment: the test database, the private Redis, the SMTP sink."""
    return worker_env(database_url, tmp_path, REDIS_URL=private_redis.url,
                      SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port,
                      DELIVERY_RETRY_BASE_SECONDS="1", SMTP_TIMEOUT="20")
