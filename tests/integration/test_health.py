"""/healthz reports the database and the broker, and never hangs on a dead broker."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.support import services


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


@pytest.mark.redis
def test_healthz_reports_a_stopped_broker_as_down_within_two_seconds(app, client, monkeypatch,
                                                                    tmp_path):
    port = services.free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        monkeypatch.setitem(app.config, "REDIS_URL", url)
        for _ in range(50):
            if services.reachable(url, port, timeout=0.2):
                break
            time.sleep(0.1)
        assert client.get("/healthz").get_json()["broker"]["status"] == "up"
    finally:
        server.terminate()
        server.wait(timeout=10)
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started
    body = response.get_json()
    assert response.status_code == 200
    assert body["broker"]["status"] == "down"
    assert body["status"] == "degraded"
    assert elapsed < 2.0


def test_healthz_does_not_hang_on_an_unroutable_broker(app, client, monkeypatch):
    """A broker that never answers (blackholed address) is bounded by the socket timeouts."""
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://10.255.255.1:6379/0")
    started = time.monotonic()
    body = client.get("/healthz").get_json()
    assert body["broker"]["status"] == "down"
    assert time.monotonic() - started < 2.5
