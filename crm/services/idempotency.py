"""Idempotency keys: a retried write answers what the first attempt answered, once.

The contract (docs/api.md#idempotency-keys):

- a key is 1–255 printable ASCII characters, scoped to one API token (or, for the web log
  form's one-time form key, to one user); it lives for `TTL` after its first use;
- `claim` inserts the key's row *before* the write, inside the request's unit of work, so
  the row commits together with the record it made, or not at all. A concurrent request
  with the same key waits on the unique index until the first one ends, then either
  replays its stored answer (the first committed) or claims the key itself (the first
  rolled back). Waiting is bounded by `lock_timeout_ms`: past it, `InProgress` (409);
- only answers that commit are stored: a 2xx/3xx. Like Stripe, a request that was refused
  (validation, visibility, a read-only account, a conflict) stores nothing, so a failed
  first attempt never poisons the key: fix the body and retry with the same key;
- the same key with a different request (method, path or canonical JSON body) raises
  `KeyReused` (422) and changes nothing.

Services never commit: the caller's unit of work does.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from crm.extensions import db
from crm.lib import timeutil
from crm.models import IdempotencyKey

#: how long a key is remembered after its first use
TTL = timedelta(hours=24)
MAX_KEY = 255
_KEY = re.compile(rf"[\x20-\x7e]{{1,{MAX_KEY}}}")
#: PostgreSQL's SQLSTATE for lock_timeout (lock_not_available)
_LOCK_NOT_AVAILABLE = "55P03"


class InvalidKey(ValueError):
    """The key is empty, too long or not printable ASCII."""


class KeyReused(ValueError):
    """The key was already used for a different request."""


class InProgress(RuntimeError):
    """Another request with this key is still running (waited `lock_timeout_ms`)."""


@dataclass(frozen=True)
class Answer:
    """A stored answer to replay."""

    status: int
    body: str
    headers: dict[str, str]


def check_key(raw: str) -> str:
    """The key as sent, or InvalidKey."""
    if not _KEY.fullmatch(raw):
        raise InvalidKey(f"Idempotency-Key must be 1 to {MAX_KEY} printable ASCII characters.")
    return raw


def new_form_key() -> str:
    """A fresh one-time key for a web form's hidden field."""
    return secrets.token_urlsafe(24)


def fingerprint(method: str, path: str, body: Any) -> str:
    """SHA-256 of method, path and the canonical JSON body (key order and spacing ignored)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


def _scope(user_id: int, token_id: int | None):
    if token_id is not None:
        return (IdempotencyKey.token_id == token_id,)
    return (IdempotencyKey.user_id == user_id, IdempotencyKey.token_id.is_(None))


def claim(user_id: int, token_id: int | None, key: str, request_hash: str, *,
          now: datetime | None = None,
          lock_timeout_ms: int | None = None) -> IdempotencyKey | Answer:
    """Claim `key` for this request (the new row: record the answer on it with `record`),
    or the stored Answer of the request that used it first.

    Raises KeyReused for a different request with the same key and InProgress when the
    first request is still running after `lock_timeout_ms` (PostgreSQL only).
    """
    now = now or timeutil.now_utc()
    scope = _scope(user_id, token_id)
    # expired keys of this token (or user) go first: the scope's own index serves it
    db.session.execute(delete(IdempotencyKey).where(*scope, IdempotencyKey.created_at < now - TTL)
                       .execution_options(synchronize_session=False))
    for _attempt in range(3):
        row = IdempotencyKey(user_id=user_id, token_id=token_id, key=key,
                             request_hash=request_hash, created_at=now)
        try:
            with db.session.begin_nested():
                _limit_wait(lock_timeout_ms)
                db.session.add(row)
                db.session.flush()
            if lock_timeout_ms is not None:
                _limit_wait(None)
            return row
        except IntegrityError:
            pass  # taken (and committed) by an earlier request: read its answer below
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
                raise InProgress(key) from None
            raise
        earlier = db.session.scalar(select(IdempotencyKey).where(*scope,
                                                                 IdempotencyKey.key == key))
        if earlier is None:
            continue  # purged in between: claim again
        if earlier.request_hash != request_hash:
            raise KeyReused(key)
        if earlier.status is None:
            raise InProgress(key)
        return Answer(earlier.status, earlier.body or "", dict(earlier.headers or {}))
    raise InProgress(key)


def _limit_wait(lock_timeout_ms: int | None) -> None:
    """Bound (or, with None, unbound again) how long the claim waits on a running twin.

    `SET LOCAL` inside the savepoint is undone when the savepoint rolls back; after a
    successful claim the rest of the transaction gets the server default back."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    if lock_timeout_ms is None:
        db.session.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
    else:
        db.session.execute(text(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}"))


def record(row: IdempotencyKey, status: int, body: str, headers: dict[str, str]) -> None:
    """Store the answer of the request that claimed `row` (committed with its write)."""
    row.status, row.body, row.headers = status, body, dict(headers)
    db.session.flush()


def purge(now: datetime | None = None) -> int:
    """Delete every key older than `TTL`; how many went."""
    cutoff = (now or timeutil.now_utc()) - TTL
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)
                                .execution_options(synchronize_session=False))
    return result.rowcount or 0
