"""The notification ledger (DESIGN.md §3): one Delivery row per email that should exist.

PUBLIC INTERFACE (other areas rely on it — the reminders issue implements the bodies):

- `insert_ignore(rows: list[dict]) -> list[int]`
    Insert ledger rows, ignoring any whose `dedupe_key` already exists
    (ON CONFLICT DO NOTHING on PostgreSQL, INSERT OR IGNORE on SQLite). Each dict has
    `kind`, `dedupe_key`, and optionally `recipient_id`, `recipient_email`, `batch_key`,
    `subject`, `payload` (JSON). Returns the ids of the rows inserted now. Flushes only.
- `@renderer(kind)` decorator: registers `fn(rows: list[Delivery]) -> crm.mail.Email | None`
    that builds the one email for a batch of rows of that kind (None: nothing to send any
    more, e.g. the follow-up was completed — the rows are then closed without sending).
- Celery task `tasks.delivery.send` with args `[ids: list[int]]`: claims the rows
    (FOR UPDATE SKIP LOCKED on PostgreSQL), renders with the registered renderer, sends
    one email with a Message-ID stored on the rows before sending, marks them sent;
    retries 4xx/connection errors with backoff; 5xx → failed.
- Enqueue after commit from anywhere: `crm.celery_app.enqueue(app, "tasks.delivery.send", ids)`
    (never raises; if the broker is down, the reminders sweep re-enqueues rows left
    `queued` too long).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

RENDERERS: dict[str, Callable[[list[Any]], Any]] = {}


def renderer(kind: str) -> Callable:
    """Register the function that builds the email for rows of `kind`."""

    def decorator(fn: Callable) -> Callable:
        RENDERERS[kind] = fn
        return fn

    return decorator


def insert_ignore(rows: list[dict]) -> list[int]:  # pragma: no cover - implemented by reminders
    raise NotImplementedError
