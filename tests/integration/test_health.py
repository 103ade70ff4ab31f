"""/healthz reports the database and the broker, and never hangs on a dead broker.

No wall-clock assertion: each probe runs under `finishes()` (a bounded wait that fails
naming the hang); the bound is generous, the probe's own timeouts are 1 s."""

from __future__ import annotations

import subprocess

import pytest

from tests.support import services
from tests.support.blackhole import Blackhole, finishes
from tests.support.wait import wait_until

#: a bound on a hang, not a speed claim: the health probe's timeouts are 1 s each
PROBE_BOUND = 20


def test_healthz_reports_the_embedded_broker(client):
    body = client.get("/healthz").get_json()
    assert body["database"]["status"] == "up"
    assert body["broker"] == {"status": "up", "backend": "filesystem (embedded)"}


@pytest.mark.redis
def test_healthz_reports_a_running_redis_as_up(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", services.TEST_REDIS_URL)
    body = client.get("/healthz").get_json()
    assert body["broker"]["status"] == "up"
    assert body["status"] == "ok"


def _health(client):
    response = finishes(lambda: client.get("/healthz"), PROBE_BOUND, "GET /healthz")
    assert response.status_code == 200
    return response.get_json()


@pytest.mark.redis
def test_healthz_reports_a_stopped_broker_as_down(app, client, monkeypatch, tmp_path):
    port = services.free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        monkeypatch.setitem(app.config, "REDIS_URL", url)
        wait_until(lambda: services.reachable(url, port, timeout=0.2), timeout=30,
                   message="the private redis-server to listen")
        assert _health(client)["broker"]["status"] == "up"
    finally:
        server.terminate()
        server.wait(timeout=10)
    body = _health(client)
    assert body["broker"]["status"] == "down"
    assert body["status"] == "degraded"


@pytest.mark.parametrize("mode", ["dropped", "silent"])
def test_healthz_does_not_hang_on_a_blackholed_broker(app, client, monkeypatch, mode):
    """A broker that never answers — its SYNs dropped, or connections accepted and then
    silent — is cut by the probe's socket timeouts: /healthz answers "down"."""
    with Blackhole(mode) as broker:
        monkeypatch.setitem(app.config, "REDIS_URL", broker.url)
        body = _health(client)
    assert body["broker"]["status"] == "down"
    assert body["status"] == "degraded"
