"""Celery throughput: a no-op task vs reminder emails end to end, same broker, same run.

Both jobs run `celery -A tasks worker` with 2 prefork processes on a private Redis.
The no-op rate is the ceiling (publish → Redis → worker → ack); the reminder job is
the real path: due follow-ups → sweep (ledger rows + one send task each) → Redis →
worker → a real SMTP server (aiosmtpd) counting what arrives.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable

import redis
from celery import Celery

from bench import reminders_setup, services

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


def reminders_rate(redis_url: str, env: dict, emails: int, log: Callable,
                   budget: float) -> dict:
    """Sweep once (as a task on the worker, like beat would) and time until N emails arrive.

    The clock starts when the sweep task is published and stops when the SMTP sink
    has accepted the last email: ledger insert, enqueue, claim, render, SMTP, mark sent.
    After `budget` seconds the rate is taken over the emails delivered so far (so that
    `make bench` stays within its time limit on a slow machine) and the run says so.
    """
    _, sweep_at = reminders_setup.sweep_moment()
    with services.SmtpSink() as sink:
        mail_env = {**env, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port),
                    "REMINDER_HOUR": "8"}
        with services.celery_worker(mail_env) as (process, logfile):
            app = Celery("bench", broker=redis_url)
            app.conf.update(task_serializer="json", accept_content=["json"])
            _wait_for_worker(app)
            started = time.perf_counter()
            # the beat task's code path (run_sweep), run from the CLI: the task's 50 s soft
            # limit is too short for 10,000 reminders on a loaded 2-core machine (see docs/benchmarks.md)
            sweep = subprocess.Popen(
                [str(services.BIN / "flask"), "--app", "crm", "crm", "sweep-reminders", "--at",
                 sweep_at.isoformat()], cwd=services.ROOT, env=mail_env,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            deadline = time.monotonic() + budget
            last, last_change = -1, time.monotonic()
            swept_at = None
            while sink.count < emails and time.monotonic() < deadline:
                if swept_at is None and sweep.poll() is not None:
                    swept_at = time.perf_counter()
                if process.poll() is not None:
                    return {"failed": f"worker died; see {logfile}"}
                if sink.count != last:
                    last, last_change = sink.count, time.monotonic()
                elif sweep.poll() is not None and time.monotonic() - last_change > 60:
                    break  # nothing arrived for a minute: report what we have
                time.sleep(0.05)
            seconds = time.perf_counter() - started
            sweep_output = sweep.communicate(timeout=300)[0].strip().splitlines()[-1:]
    received = sink.count
    log(f"[celery] reminders: {received}/{emails} emails at the SMTP sink in {seconds:.1f} s "
        f"(sweep: {' '.join(sweep_output)})")
    result = {"items": received, "seconds": round(seconds, 2),
              "rate": round(received / seconds, 1), "sweep": " ".join(sweep_output)}
    if swept_at:
        sweep_seconds = swept_at - started
        result["sweep_seconds"] = round(sweep_seconds, 1)
        result["send_rate"] = round(received / max(seconds - sweep_seconds, 0.001), 1)
    if received < emails:
        result["incomplete"] = (f"reminders: {received} of {emails} emails had arrived when "
                                f"the {budget:.0f} s budget ended; the rate is over those")
    return result


def run(redis_url: str, *, emails: int, log: Callable, budget: float = 300,
        noop_tasks: int = 3000) -> dict:
    """Both jobs on the same private Redis, one after the other, 2 worker processes each."""
    results: dict = {"concurrency": 2, "notes": []}
    database_url = reminders_setup.prepare(emails)
    with tempfile.TemporaryDirectory(prefix="bench-celery-") as instance:
        env = services.app_env(database_url, redis_url, instance)
        try:
            results["noop"] = noop_rate(redis_url, env, noop_tasks, log)
        except Exception as exc:  # noqa: BLE001 - reported in the table
            results["noop"] = {"failed": f"{type(exc).__name__}: {exc}"}
        try:
            results["reminders"] = reminders_rate(redis_url, env, emails, log, budget)
        except Exception as exc:  # noqa: BLE001
            results["reminders"] = {"failed": f"{type(exc).__name__}: {exc}"}
    if "incomplete" in results.get("reminders", {}):
        results["notes"].append(results["reminders"]["incomplete"])
    return results
