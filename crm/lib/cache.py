"""A tiny process-local cache with expiry, for expensive read-only figures (dashboard charts).

Each gunicorn worker keeps its own copy: a figure can be up to `ttl` seconds old, which is
what the pages that use it say ("updated every 5 minutes"). Values must be treated as
read-only by callers, since the same object is handed out until it expires.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

#: entries above this are dropped oldest-first, so many users cannot grow memory unbounded
MAX_ENTRIES = 2048

_lock = threading.Lock()
_entries: dict[Hashable, tuple[float, Any]] = {}


def get_or_compute(key: Hashable, ttl: float, compute: Callable[[], T]) -> T:
    """The cached value for `key` if younger than `ttl` seconds, else compute and store it."""
    now = time.monotonic()
    with _lock:
        hit = _entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
    value = compute()   # outside the lock: a slow query must not block other keys
    with _lock:
        _entries[key] = (now + ttl, value)
        if len(_entries) > MAX_ENTRIES:
            for old in sorted(_entries, key=lambda k: _entries[k][0])[:len(_entries) - MAX_ENTRIES]:
                del _entries[old]
    return value


def clear() -> None:
    """Forget everything (tests; after bulk imports if fresh figures are wanted)."""
    with _lock:
        _entries.clear()
