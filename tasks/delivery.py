"""`tasks.delivery.send`: deliver ledger rows by id (the protocol is in crm.services.deliveries).

The task layer owns the transactions: it commits the claim (attempt + Message-ID) before
any SMTP traffic, holds the row lock while sending, and commits `sent` right after the
server accepted the message. Retries of an already-ledgered row use Celery's countdown;
the initial scheduling never does (the sweep enqueues what is due now).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from flask import current_app

from crm import mail
from crm.extensions import db
from crm.services import deliveries

log = logging.getLogger(__name__)
#: the longest single retry delay, whatever the attempt number
RETRY_CAP_SECONDS = 15 * 60
LINK_MAX_AGE = int(timedelta(days=7).total_seconds())


@dataclass
class Outcome:
    """What one run did: ids sent, ids to retry later (with the highest attempt), ids failed."""

    sent: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    attempt: int = 0


def settings_from(config: Mapping[str, Any]) -> dict[str, Any]:
    """What renderers need from the app config (services never read current_app)."""
    return {"secret_key": config["SECRET_KEY"], "base_url": config["CRM_BASE_URL"],
            "link_max_age": LINK_MAX_AGE}


def deliver(ids: list[int], config: Mapping[str, Any]) -> Outcome:
    """Claim, render, send and mark the rows `ids`; one email per batch among them."""
    max_attempts = int(config["DELIVERY_MAX_ATTEMPTS"])
    claimed = deliveries.claim(ids, max_attempts=max_attempts,
                               new_message_id=mail.new_message_id)
    # read before the commit expires the rows (after it, every attribute is a SELECT)
    groups = deliveries.batches(claimed.rows)
    outcome = Outcome(failed=[row.id for row in claimed.given_up])
    db.session.commit()  # attempt and Message-ID are on record before any SMTP traffic
    settings = settings_from(config)
    for group in groups:
        _deliver_batch(claimed, group, settings, max_attempts, outcome)
    return outcome


def _deliver_batch(claimed: deliveries.Claim, group: list[int], settings: dict,
                   max_attempts: int, outcome: Outcome) -> None:
    rows = deliveries.lock_for_send(claimed, group)
    if not rows:  # another worker re-claimed them: it sends
        db.session.commit()
        return
    try:
        email = deliveries.render(rows, settings)
        live = [row for row in rows if row.status == "sending"]
        if email is None or not live:
            for row in live:
                deliveries.skip(row, "nothing left to announce")
            outcome.skipped.extend(row.id for row in rows)
            db.session.commit()
            return
        email.message_id = live[0].message_id
        message_id = mail.send(mail.build(email))
    except (mail.TemporaryMailError, SoftTimeLimitExceeded) as exc:
        _after_error(claimed, group, f"temporary: {type(exc).__name__}: {exc}",
                     max_attempts, outcome, permanent=False)
    except mail.PermanentMailError as exc:
        _after_error(claimed, group, f"permanent: {exc}", max_attempts, outcome, permanent=True)
    except Exception as exc:  # a rendering bug or a database hiccup: retry, bounded
        log.exception("delivery of %s failed", group)
        _after_error(claimed, group, f"error: {type(exc).__name__}: {exc}", max_attempts,
                     outcome, permanent=False)
    else:
        deliveries.mark_sent(live, message_id)
        outcome.sent.extend(row.id for row in live)
        outcome.skipped.extend(row.id for row in rows if row not in live)
        db.session.commit()  # after reading the ids: a commit expires the rows


def _after_error(claimed: deliveries.Claim, group: list[int], error: str, max_attempts: int,
                 outcome: Outcome, *, permanent: bool) -> None:
    db.session.rollback()
    rows = deliveries.lock_for_send(claimed, group)
    if permanent:
        deliveries.mark_failed(rows, error)
        outcome.failed.extend(row.id for row in rows)
    else:
        deliveries.mark_retry(rows, error, max_attempts=max_attempts)
        for row in rows:
            if row.status == "queued":
                outcome.retry.append(row.id)
                outcome.attempt = max(outcome.attempt, row.attempts)
            else:
                outcome.failed.append(row.id)
    db.session.commit()
    log.warning("delivery %s: %s", group, error)


@shared_task(bind=True, name="tasks.delivery.send", acks_late=True,
             reject_on_worker_lost=True, ignore_result=True)
def send(self, ids: list[int]) -> dict:
    """Deliver ledger rows `ids`; temporary failures come back with backoff and jitter.

    Time limits come from the Celery config (task_soft_time_limit / task_time_limit).
    """
    config = current_app.config
    outcome = deliver([int(i) for i in ids], config)
    if outcome.retry:
        countdown = deliveries.backoff_seconds(
            outcome.attempt, float(config.get("DELIVERY_RETRY_BASE_SECONDS", 30)),
            RETRY_CAP_SECONDS, random.random)
        raise self.retry(args=[outcome.retry], countdown=countdown, max_retries=None)
    return {"sent": outcome.sent, "skipped": outcome.skipped, "failed": outcome.failed}
