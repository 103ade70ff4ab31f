"""The delivery ledger: one `deliveries` row per email, the single source of truth for sending.

Interfaces:
- `insert_ignore(rows)` / `insert_ignore_batches(rows)`: insert ledger rows (kind, dedupe_key,
    recipient_id/recipient_email, batch_key, payload…), skipping dedupe keys that exist;
    flush only, the caller commits and then enqueues `crm.celery_app.SEND_TASK` with the ids.
- The renderer of each kind is named in ONE table, `crm.services.emails.RENDERERS`; every
    renderer is called as `render(rows, settings)` with the `MailSettings` below (services
    never read flask.current_app).
- The Celery task `SEND_TASK` (`tasks.delivery.send`, args `[ids: list[int]]`) runs
    `tasks.delivery.deliver`: the protocol below.
- Enqueue after commit from anywhere: `crm.celery_app.enqueue(app, SEND_TASK, ids)` (never
    raises; if the broker is down, the reminders sweep re-enqueues rows left `queued`).

Transactions of the send protocol
---------------------------------
Every Celery task runs as one unit of work (crm/celery_app.py: commit once when it succeeded,
roll back otherwise). The send task is the one deliberate exception: `tasks.delivery.deliver`
commits between its steps, because what must be on record before SMTP traffic, and right
after it, cannot wait for the end of the task. These are its commits, and the only place
they are explained (the code refers here as "protocol commit (N)"):

  (1) claim: `claim(ids)` locks the rows still `queued`/`sending` (FOR UPDATE SKIP LOCKED on
      PostgreSQL), attempts += 1, status `sending`, Message-ID generated once (kept on a
      retry); committed BEFORE any SMTP traffic, so a crash mid-send leaves a row the
      stuck-row sweep re-sends with the SAME Message-ID, and the attempts count crashes.
  (2) send + mark: `lock_for_send(claimed)` locks them again, fenced on the attempt number
      (another worker that re-claimed them meanwhile wins); render, send while holding the
      lock, `mark_sent` and commit at once: the row says `sent` as soon as the server took
      the email. A batch with nothing left to announce is closed with `skip` and committed
      here too; so is a batch another worker took over (releasing the lock).
  (3) errors: roll back the half-done batch, lock again, `mark_retry` (temporary, back to
      `queued`; the task retries with backoff) or `mark_failed` (permanent, or the attempts
      are used up), and commit: the outcome is on record before the retry is scheduled.

The dedupe key's unique index means a row, hence an email, exists once. A crash between
SMTP acceptance and commit (2) leaves the row `sending` with its Message-ID: the stuck-row
sweep re-sends it with the SAME Message-ID. A row closed without sending (the
renderer returned None or skipped it) is marked `sent` with `sent_at` NULL and `last_error`
saying why, so the admin page shows it as settled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from crm.extensions import db
from crm.mail import Email
from crm.models import Delivery
from crm.models._types import utcnow

from . import engagement

#: the optional columns a ledger row may set in `insert_ignore`
_OPTIONAL = ("recipient_id", "recipient_email", "batch_key", "subject", "payload")
#: last_error prefix for rows closed without sending
NOT_SENT = "not sent: "
ERROR_MAX = 2000


@dataclass(frozen=True)
class MailSettings:
    """What renderers need from the app config, read once per send run by `from_config`."""

    #: signs the links an email carries (actions, unsubscribe, invitation, reset)
    secret_key: str
    #: CRM_BASE_URL: every link starts here, never at a request's Host header
    base_url: str
    #: engagement health thresholds (a digest's cooling/lapsed sections)
    thresholds: engagement.Thresholds = engagement.DEFAULT

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailSettings:
        """The settings of a Flask config (the only place they are read from it)."""
        return cls(secret_key=config["SECRET_KEY"], base_url=config["CRM_BASE_URL"],
                   thresholds=engagement.Thresholds.from_config(config))


#: builds the email for a batch of rows of one kind, or None (rows closed with `skip`)
Renderer = Callable[[list[Delivery], MailSettings], Email | None]


def insert_ignore(rows: list[dict], now: datetime | None = None) -> list[int]:
    """Insert ledger rows, silently skipping existing dedupe keys; ids of the new rows.

    `now` (default: the clock) stamps created/updated/enqueued times.
    """
    return sorted(row_id for row_id, _key in _insert_ignore(rows, now))


def insert_ignore_batches(rows: list[dict], now: datetime | None = None) -> list[list[int]]:
    """`insert_ignore`, its new ids grouped into send batches (one list per batch_key)."""
    groups: dict[str, list[int]] = {}
    for row_id, key in _insert_ignore(rows, now):
        groups.setdefault(key or f"#{row_id}", []).append(row_id)
    return [sorted(ids) for ids in groups.values()]


def _insert_ignore(rows: list[dict], now: datetime | None) -> list[tuple[int, str | None]]:
    """(id, batch_key) of the rows inserted now.

    ONE compiled INSERT … ON CONFLICT DO NOTHING RETURNING executed with the list of
    parameter dicts: SQLAlchemy's "insertmanyvalues" batches it into multi-row VALUES
    pages itself, so building the SQL costs once, not once per chunk of rows.
    """
    if not rows:
        return []
    now = now or utcnow()
    values = []
    for row in rows:
        if not row.get("kind") or not row.get("dedupe_key"):
            raise ValueError("a ledger row needs kind and dedupe_key")
        value = {"kind": row["kind"], "dedupe_key": row["dedupe_key"],
                 "status": "queued", "attempts": 0, "created_at": now, "updated_at": now,
                 "enqueued_at": row.get("enqueued_at", now)}
        value.update({name: row.get(name) for name in _OPTIONAL})
        values.append(value)
    table = Delivery.__table__  # Core, not ORM bulk: no per-row ORM bookkeeping
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
    else:
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
    stmt = stmt.returning(table.c.id, table.c.batch_key)
    inserted = [(row_id, key) for row_id, key in db.session.execute(stmt, values)]
    db.session.flush()
    return inserted


def batches(rows: Iterable[Delivery]) -> list[list[int]]:
    """Group row ids into send batches: one per batch_key (rows without one go alone)."""
    groups: dict[str, list[int]] = {}
    for row in rows:
        groups.setdefault(row.batch_key or f"#{row.id}", []).append(row.id)
    return [sorted(ids) for ids in groups.values()]


def _locked(stmt: Select) -> Select:
    """Row locks that skip rows another worker holds (PostgreSQL); plain select elsewhere."""
    if db.session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True)
    return stmt


@dataclass
class Claim:
    """Rows this worker now owns for one attempt, and the attempt number of each (the fence)."""

    rows: list[Delivery]
    attempts: dict[int, int]
    given_up: list[Delivery]

    @property
    def ids(self) -> list[int]:
        return [row.id for row in self.rows]


def claim(ids: list[int], *, max_attempts: int, new_message_id: Callable[[], str],
          now: datetime | None = None) -> Claim:
    """Lock the rows still to send, count the attempt and fix their Message-ID (flushes).

    Rows already `sent`/`failed`, or locked by another worker, are left alone. Rows whose
    attempts are used up (repeated crashes) are marked `failed` instead.
    """
    now = now or utcnow()
    rows = list(db.session.scalars(_locked(
        select(Delivery).where(Delivery.id.in_(ids),
                               Delivery.status.in_(("queued", "sending")))
        .order_by(Delivery.id))))
    given_up = [row for row in rows if row.attempts >= max_attempts]
    for row in given_up:
        _fail(row, f"gave up after {row.attempts} attempts"
              + (f" (last: {row.last_error})" if row.last_error else ""), now)
    rows = [row for row in rows if row.attempts < max_attempts]
    message_ids: dict[str, str] = {}
    for row in rows:
        key = row.batch_key or f"#{row.id}"
        if key not in message_ids:
            existing = next((r.message_id for r in rows
                             if (r.batch_key or f"#{r.id}") == key and r.message_id), None)
            message_ids[key] = existing or new_message_id()
        row.message_id = message_ids[key]
        row.attempts += 1
        row.status = "sending"
        row.updated_at = now
    db.session.flush()
    return Claim(rows=rows, attempts={row.id: row.attempts for row in rows}, given_up=given_up)


def lock_for_send(claimed: Claim, ids: list[int] | None = None) -> list[Delivery]:
    """Lock the claimed rows (or `ids` among them) again for the send itself.

    Returns only the rows no other worker re-claimed since (their attempt is still ours).
    """
    ids = claimed.ids if ids is None else ids
    if not ids:
        return []
    # The fence is part of the WHERE clause, so a worker whose attempt is stale never takes
    # (even for a moment) the lock of a row another worker re-claimed: with SKIP LOCKED,
    # that moment made the rightful owner skip the row too, and nobody sent it.
    fence = [(i, claimed.attempts[i]) for i in ids if i in claimed.attempts]
    rows = db.session.scalars(_locked(
        select(Delivery).where(tuple_(Delivery.id, Delivery.attempts).in_(fence),
                               Delivery.status == "sending")
        .order_by(Delivery.id)).execution_options(populate_existing=True))
    return [row for row in rows if row.attempts == claimed.attempts.get(row.id)]


def skip(row: Delivery, reason: str, now: datetime | None = None) -> None:
    """Close a row without sending it (the thing it announced no longer applies)."""
    row.status = "sent"
    row.sent_at = None
    row.last_error = (NOT_SENT + reason)[:ERROR_MAX]
    row.updated_at = now or utcnow()


def is_skipped(row: Delivery) -> bool:
    return row.status == "sent" and bool(row.last_error) and row.last_error.startswith(NOT_SENT)


def mark_sent(rows: list[Delivery], message_id: str, now: datetime | None = None) -> None:
    """The SMTP server accepted the email (flushes)."""
    now = now or utcnow()
    for row in rows:
        if row.status != "sending":  # skipped by the renderer
            continue
        row.status = "sent"
        row.message_id = message_id
        row.sent_at = now
        row.last_error = None
        row.updated_at = now
    db.session.flush()


def mark_retry(rows: list[Delivery], error: str, *, max_attempts: int,
               now: datetime | None = None) -> bool:
    """A temporary failure: back to `queued` (True) or `failed` if attempts are used up."""
    now = now or utcnow()
    retry = False
    for row in rows:
        if row.attempts >= max_attempts:
            _fail(row, f"{error} (after {row.attempts} attempts)", now)
        else:
            row.status = "queued"
            row.last_error = error[:ERROR_MAX]
            row.updated_at = now
            retry = True
    db.session.flush()
    return retry


def mark_failed(rows: list[Delivery], error: str, now: datetime | None = None) -> None:
    """A permanent failure: no retry (flushes)."""
    for row in rows:
        _fail(row, error, now or utcnow())
    db.session.flush()


def _fail(row: Delivery, error: str, now: datetime) -> None:
    row.status = "failed"
    row.last_error = error[:ERROR_MAX]
    row.updated_at = now


def backoff_seconds(attempt: int, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Exponential backoff with full-ish jitter: base·2^(attempt-1), capped, times 0.5–1.0."""
    raw = min(cap, base * (2 ** max(0, attempt - 1)))
    return raw * (0.5 + rand() / 2)


def requeue_stuck(now: datetime, stuck_minutes: int = 10) -> list[list[int]]:
    """Rows left `queued` or `sending` longer than `stuck_minutes`: id batches to enqueue again.

    Stamps them (`enqueued_at`, `updated_at` = now) so each is re-enqueued at most once per
    period. A flushed broker, a lost task or a killed worker therefore loses nothing.
    """
    cutoff = now - timedelta(minutes=stuck_minutes)
    stuck = db.session.scalars(_locked(
        select(Delivery).where(Delivery.status.in_(("queued", "sending")),
                               Delivery.updated_at < cutoff)
        .order_by(Delivery.id))).all()
    if not stuck:
        return []
    db.session.execute(
        update(Delivery).where(Delivery.id.in_([row.id for row in stuck]))
        .values(enqueued_at=now, updated_at=now).execution_options(synchronize_session=False))
    db.session.flush()
    return batches(stuck)


def retry_failed(delivery: Delivery, now: datetime | None = None) -> list[int]:
    """Give a failed row (and the failed rows of its batch) a fresh set of attempts."""
    if delivery.status != "failed":
        raise ValueError("only a failed delivery can be retried")
    now = now or utcnow()
    rows = [delivery]
    if delivery.batch_key:
        rows = list(db.session.scalars(select(Delivery).where(
            Delivery.batch_key == delivery.batch_key, Delivery.status == "failed")))
    for row in rows:
        row.status = "queued"
        row.attempts = 0
        row.enqueued_at = now
        row.updated_at = now
    db.session.flush()
    return sorted(row.id for row in rows)
