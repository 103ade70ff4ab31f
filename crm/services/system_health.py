"""Liveness of the database and the broker, each bounded by a short timeout."""

from __future__ import annotations

from pathlib import Path

import redis
from sqlalchemy import text

from crm.extensions import db


def database_state() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
        return {"status": "up", "backend": db.engine.dialect.name}
    except Exception as exc:  # noqa: BLE001 - report, never raise
        db.session.rollback()
        return {"status": "down", "error": type(exc).__name__}


def broker_state(redis_url: str | None, celery_config: dict) -> dict:
    if not redis_url:
        folder = Path(celery_config["broker_transport_options"]["data_folder_in"])
        up = folder.is_dir()
        return {"status": "up" if up else "down", "backend": "filesystem (embedded)"}
    try:
        client = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
        client.ping()
        return {"status": "up", "backend": "redis"}
    except Exception as exc:  # noqa: BLE001
        return {"status": "down", "backend": "redis", "error": type(exc).__name__}
