"""The send task (`crm.celery_app.SEND_TASK`): deliver ledger rows by id.

`deliver` is the one place that commits mid-task: its commits (1) claim, (2) send + mark
and (3) errors are the delivery protocol's, explained once in crm/services/deliveries.py
("Transactions of the send protocol"). Retries of an already-ledgered row use Celery's
countdown; the initial scheduling never does (the sweep enqueues what is due now).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from flask import current_app

from crm import mail
from crm.celery_app import SEND_TASK
from crm.extensions import db
from crm.services import deliveries, emails
from crm.services.deliveries import MailSettings

log = logging.getLogger(__name__)
#: the longest single retry delay, whatever the attempt number
RETRY_CAP_SECONDS = 15 * 60


@dataclass
class Outcome:
    """What one run did: ids sent, ids to retry later (with the highest attempt), ids failed."""

    sent: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    attempt: int = 0


def deliver(ids: list[int], config: Mapping[str, Any]) -> Outcome:
    """Claim, render, send and mark the rows `ids`; one email per batch among them."""
    max_attempts = int(config["DELIVERY_MAX_ATTEMPTS"])
    claimed = deliveries.claim(ids, max_attempts=max_attempts,
                               new_message_id=mail.new_message_id)
    # read before the commit expires the rows (after it, every attribute is a SELECT)
    groups = deliveries.batches(claimed.rows)
    outcome = Outcome(failed=[row.id for row in claimed.given_up])
    db.session.commit()  # protocol commit (1): attempt and Message-ID before any SMTP traffic
    settings = MailSettings.from_config(config)
    for group in groups:
        _deliver_batch(claimed, group, settings, max_attempts, outcome)
    return outcome


def _deliver_batch(claimed: deliveries.Claim, group: list[int], settings: MailSettings,
                   max_attempts: int, outcome: Outcome) -> None:
    rows = deliveries.lock_for_send(claimed, group)
    if not rows:  # another worker re-claimed them: it sends
        db.session.commit()  # protocol commit (2), nothing to send: release the lock
        return
    try:
        email = emails.render(rows, settings)
        live = [row for row in rows if row.status == "sending"]
        if email is None or not live:
            for row in live:
                deliveries.skip(row, "nothing left to announce")
            outcome.skipped.extend(row.id for row in rows)
            db.session.commit()  # protocol commit (2), nothing left to announce
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
        db.session.commit()  # protocol commit (2), after reading the ids: it expires the rows


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
    db.session.commit()  # protocol commit (3): the outcome is on record before any retry
    log.warning("delivery %s: %s", group, error)


@shared_task(bind=True, name=SEND_TASK, acks_late=True,
             reject_on_worker_lost=True, ignore_result=True)
def send(self, ids: list[int]) -> dict:
    """Deliver ledger rows `ids`; temporary failures come back with backoff and jitter.

    Time limits: DELIVERY_SOFT_TIME_LIMIT (crm/celery_app.py sets this task's annotation).
    """
    config = current_app.config
    outcome = deliver([int(i) for i in ids], config)
    if outcome.retry:
        countdown = deliveries.backoff_seconds(
            outcome.attempt, float(config.get("DELIVERY_RETRY_BASE_SECONDS", 30)),
            RETRY_CAP_SECONDS, random.random)
        raise self.retry(args=[outcome.retry], countdown=countdown, max_retries=None)
    return {"sent": outcome.sent, "skipped": outcome.skipped, "failed": outcome.failed}
