"""Bounded waits: poll for the event a test needs, and fail saying what never happened.

Tests do not assert on wall-clock durations (a shared CPU makes any bound either loose or
flaky) and do not `time.sleep()` to let another thread, process or server get somewhere:
they wait for the thing itself — a row's status, a line in a log, a backend blocked on a
lock (`lock_waiters`), a counter — with a generous timeout that only matters when the event
never comes. `tests/unit/test_timing_rules.py` keeps `time.sleep` out of tests/ (this
folder excepted) and timed assertions out of the whole suite.
"""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import text

T = TypeVar("T")


def poll(predicate: Callable[[], T], timeout: float, interval: float) -> T:
    """Call `predicate` until it returns a truthy value or `timeout` seconds pass; the last
    value is returned either way (an exception from `predicate` propagates at once)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def wait_until(predicate: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.05,
               message: str | Callable[[], str] = "the condition") -> T:
    """Return `predicate()`'s first truthy value; fail the test if none comes in `timeout`.

    `message` says what was awaited ("the worker to be ready"); a callable is called only on
    failure (to attach a log's tail). The timeout bounds a hang; it is not a performance
    claim, so make it generous.
    """
    value = poll(predicate, timeout, interval)
    if not value:
        said = message() if callable(message) else message
        pytest.fail(f"timed out after {timeout:g} s waiting for {said} (last value: {value!r})",
                    pytrace=False)
    return value


def lock_waiters(engine) -> int:
    """How many other PostgreSQL backends of this database are blocked waiting for a lock
    (`pg_stat_activity.wait_event_type = 'Lock'`, the waiting side of `pg_locks`)."""
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")).scalar_one()


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"


def _alive(process: subprocess.Popen, log: Path) -> None:
    if process.poll() is not None:
        pytest.fail(f"{process.args[0]} exited with {process.returncode}:\n{_tail(log)}",
                    pytrace=False)


def wait_for_log(log: Path, needle: str, process: subprocess.Popen,
                 timeout: float = 90) -> None:
    """Wait until a subprocess (a celery worker: "ready") writes `needle` to its log."""
    def said() -> bool:
        _alive(process, log)
        return needle in log.read_text(errors="replace")

    wait_until(said, timeout=timeout, interval=0.1,
               message=lambda: f"{needle!r} in {log.name}:\n{_tail(log)}")


def wait_for_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """Wait until a server subprocess answers 200 at `url`."""
    def answers() -> bool:
        _alive(process, log)
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
                return response.status == 200
        except OSError:
            return False

    wait_until(answers, timeout=timeout, interval=0.1,
               message=lambda: f"{url} to answer 200:\n{_tail(log)}")
