"""Celery throughput: a no-op task vs reminder emails end to end, same broker, same run.

Both jobs run `celery -A tasks worker` with 2 prefork processes on a private Redis.
The no-op rate is the ceiling (publish → Redis → worker → ack); the reminder job is
the real path: due follow-ups → sweep (ledger rows + one send task each) → Redis →
worker → a real SMTP server (aiosmtpd) counting what arrives.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import redis
from celery import Celery

from bench import services

QUEUE = "celery"


def _drained(client: redis.Redis) -> bool:
    """No message waiting and none taken but unacknowledged (acks_late)."""
    return client.llen(QUEUE) == 0 and client.hlen("unacked") == 0


def _wait_for_worker(app: Celery, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError("celery worker did not answer ping")


def noop_rate(redis_url: str, env: dict, items: int, log: Callable) -> dict:
    """Publish `items` no-op tasks while 2 worker processes consume; time until drained."""
    app = Celery("bench", broker=redis_url)
    app.conf.update(task_serializer="json", accept_content=["json"],
                    broker_connection_retry_on_startup=True)
    client = redis.Redis.from_url(redis_url)
    with services.celery_worker(env) as (process, logfile):
        _wait_for_worker(app)
        started = time.perf_counter()
        with app.producer_or_acquire() as producer:
            for n in range(items):
                app.send_task("bench.noop", args=[n], producer=producer)
        while not _drained(client):
            if process.poll() is not None:
                raise RuntimeError(f"worker died; see {logfile}")
            time.sleep(0.02)
        seconds = time.perf_counter() - started
    log(f"[celery] no-op: {items} tasks in {seconds:.1f} s")
    return {"items": items, "seconds": round(seconds, 2), "rate": round(items / seconds, 1)}


def reminders_rate(database_url: str, redis_url: str, env: dict, emails: int,
                   log: Callable) -> dict:
    """Make `emails` reminders due, sweep once, and time until the SMTP sink has them all."""
    with services.SmtpSink() as sink:
        mail_env = {**env, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port)}
        setup = subprocess.run(
            [sys.executable, "-m", "bench.reminders_setup", str(emails)],
            env=mail_env, cwd=services.ROOT, capture_output=True, text=True)
        if setup.returncode:
            return {"failed": (setup.stderr or setup.stdout)[-800:]}
        with services.celery_worker(mail_env) as (process, logfile):
            app = Celery("bench", broker=redis_url)
            _wait_for_worker(app)
            started = time.perf_counter()
            sweep = subprocess.run(
                [sys.executable, "-m", "bench.reminders_setup", "--sweep"],
                env=mail_env, cwd=services.ROOT, capture_output=True, text=True)
            if sweep.returncode:
                return {"failed": (sweep.stderr or sweep.stdout)[-800:]}
            deadline = time.monotonic() + 600
            last, last_change = -1, time.monotonic()
            while sink.count < emails and time.monotonic() < deadline:
                if process.poll() is not None:
                    return {"failed": f"worker died; see {logfile}"}
                if sink.count != last:
                    last, last_change = sink.count, time.monotonic()
                elif time.monotonic() - last_change > 60:
                    break  # nothing arrived for a minute: report what we have
                time.sleep(0.05)
            seconds = time.perf_counter() - started
    received = sink.count
    log(f"[celery] reminders: {received}/{emails} emails at the SMTP sink in {seconds:.1f} s "
        f"(sweep {sweep.stdout.strip()})")
    result = {"items": received, "seconds": round(seconds, 2),
              "rate": round(received / seconds, 1), "sweep": sweep.stdout.strip()}
    if received < emails:
        result["incomplete"] = f"only {received} of {emails} arrived"
    return result


def run(database_url: str, redis_url: str, *, emails: int, log: Callable) -> dict:
    results: dict = {"concurrency": 2, "notes": []}
    with tempfile.TemporaryDirectory(prefix="bench-celery-") as instance:
        env = services.app_env(database_url, redis_url, instance)
        try:
            results["noop"] = noop_rate(redis_url, env, emails, log)
        except Exception as exc:  # noqa: BLE001 - reported in the table
            results["noop"] = {"failed": f"{type(exc).__name__}: {exc}"}
        try:
            results["reminders"] = reminders_rate(database_url, redis_url, env, emails, log)
        except Exception as exc:  # noqa: BLE001
            results["reminders"] = {"failed": f"{type(exc).__name__}: {exc}"}
    return results
