"""Run a real `celery -A tasks worker` subprocess against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from tests.support.wait import poll

ROOT = Path(__file__).resolve().parents[2]


def worker_env(database_url: str, instance: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"REDIS_URL", "SMTP_HOST", "SMTP_PORT", "DATABASE_URL"}}
    env.update(CRM_CONFIG="test", DATABASE_URL=database_url, CRM_INSTANCE_PATH=str(instance),
               PYTHONPATH=str(ROOT))
    env.update({k: str(v) for k, v in extra.items() if v is not None})
    return env


@contextmanager
def celery_worker(env: dict[str, str], queues: str | None = None, concurrency: int = 1,
                  extra_args: tuple[str, ...] = (), log_path: Path | None = None):
    """Start a worker; yields the Popen. Stops it (TERM, then KILL) afterwards."""
    args = [sys.executable, "-m", "celery", "-A", "tasks", "worker", "--loglevel", "INFO",
            "--concurrency", str(concurrency), "--without-mingle", "--without-gossip",
            "--without-heartbeat", *extra_args]
    if queues:
        args += ["-Q", queues]
    log = open(log_path or os.devnull, "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2):
    """Poll `predicate` until it returns a truthy value or `timeout` passes; returns the last
    value (prefer `tests.support.wait.wait_until`, which fails with a message)."""
    return poll(predicate, timeout, interval)
