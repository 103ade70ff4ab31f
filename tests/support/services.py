"""Where the real PostgreSQL and Redis are, and whether they answer."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def reachable(url: str, default_port: int, timeout: float = 1.0) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port),
                                      timeout=timeout):
            return True
    except OSError:
        return False


def postgres_available() -> bool:
    if not reachable(TEST_DATABASE_URL, 5432):
        return False
    try:
        import psycopg

        with psycopg.connect(TEST_DATABASE_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001
        return False


def redis_available() -> bool:
    if not reachable(TEST_REDIS_URL, 6379):
        return False
    try:
        import redis

        return bool(redis.Redis.from_url(TEST_REDIS_URL, socket_timeout=2).ping())
    except Exception:  # noqa: BLE001
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
