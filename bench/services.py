"""Processes the benchmark owns: a private redis-server, gunicorn, celery workers, an SMTP sink.

Every process is started here and stopped by its own pid; nothing touches the
shared Redis on 6379.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")


def _log_file(name: str):
    """An open log file that outlives the run (its path is quoted when a process dies)."""
    fd, _ = tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".log")
    return os.fdopen(fd, "w")


def _stop(process: subprocess.Popen, timeout: float = 15.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def redis_server():
    """A throw-away redis-server on a free port; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def up() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    try:
        _wait_for(up, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(process)


def app_env(database_url: str, redis_url: str, instance: str, **extra: str) -> dict[str, str]:
    """A production-like environment; rate limits raised so the bench measures the app."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "CRM_"))}
    env.update({
        "CRM_CONFIG": "production",
        "CRM_BENCH": "1",
        "CRM_INSTANCE_PATH": instance,
        "SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "LOGIN_RATE_LIMIT": "100000 per minute",
        "API_RATE_LIMIT": "1000000 per minute",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


@contextmanager
def gunicorn(env: dict[str, str], workers: int = 2, threads: int = 4):
    """gunicorn (gthread: keep-alive connections) on loopback; yields the base URL."""
    port = free_port()
    log = _log_file("gunicorn")
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", str(workers), "--worker-class", "gthread",
         "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--keep-alive", "30",
         "--graceful-timeout", "3",
         "--log-level", "warning", "crm:create_app()"],
        cwd=ROOT, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {log.name}:\n"
                               + Path(log.name).read_text()[-3000:])
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        _wait_for(up, "gunicorn", 60)
        yield url
    finally:
        _stop(process)
        log.close()


@contextmanager
def celery_worker(env: dict[str, str], concurrency: int = 2, queues: str | None = None):
    """`celery -A tasks worker` (prefork, `concurrency` processes), with the bench's no-op task."""
    log = _log_file("celery")
    command = [str(BIN / "celery"), "-A", "tasks", "worker", "--include", "bench.celery_tasks",
               "--concurrency", str(concurrency), "--pool", "prefork", "--loglevel", "WARNING",
               "--without-gossip", "--without-mingle", "--without-heartbeat",
               "--hostname", f"bench-{os.getpid()}@%h"]
    if queues:
        command += ["--queues", queues]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        yield process, log.name
    finally:
        _stop(process, 30)
        log.close()


class SmtpSink:
    """A real SMTP server (aiosmtpd) that counts what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.count = 0
        self.first_at: float | None = None
        self.last_at: float | None = None
        self._lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        with self._lock:
            now = time.perf_counter()
            self.first_at = self.first_at or now
            self.last_at = now
            self.count += 1
        return "250 OK"

    def reset(self) -> None:
        with self._lock:
            self.count, self.first_at, self.last_at = 0, None, None

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
