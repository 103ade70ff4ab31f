"""The ledger's mark functions, exactly: what each sets, what it leaves, what it returns.

Written to kill the mutants `make mutation` found surviving (docs/testing.md#mutation-testing):
each assertion pins a value a plausible slip would change.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm.models import Delivery
from crm.services import deliveries

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _row(**kw) -> Delivery:
    values = {"id": 1, "kind": "other", "dedupe_key": "k", "recipient_email": "a@example.org",
              "status": "sending", "attempts": 1, "last_error": None}
    return Delivery(**{**values, **kw})


@pytest.mark.parametrize(("status", "error", "skipped"), [
    ("sent", deliveries.NOT_SENT + "done since", True),
    ("sent", None, False),
    ("sent", "", False),
    ("sent", "451 try later", False),  # a sent row that once failed is not a skipped one
    ("failed", deliveries.NOT_SENT + "x", False),
    ("queued", deliveries.NOT_SENT + "x", False),
])
def test_is_skipped_needs_sent_and_the_not_sent_reason(status, error, skipped):
    assert deliveries.is_skipped(_row(status=status, last_error=error)) is skipped


def test_mark_retry_says_whether_anything_will_be_retried(db):
    assert deliveries.mark_retry([], "451", max_attempts=5, now=NOW) is False
    spent = _row(attempts=5)
    assert deliveries.mark_retry([spent], "451 later", max_attempts=5, now=NOW) is False
    assert (spent.status, spent.last_error) == ("failed", "451 later (after 5 attempts)")
    fresh, spent = _row(id=2, attempts=4), _row(id=3, attempts=5)
    assert deliveries.mark_retry([fresh, spent], "451 later", max_attempts=5, now=NOW) is True
    assert (fresh.status, fresh.last_error, fresh.updated_at) == ("queued", "451 later", NOW)
    assert spent.status == "failed" and spent.updated_at == NOW


def test_mark_sent_marks_every_sending_row_and_clears_the_error(db):
    skipped = _row(id=1, status="sent", last_error=deliveries.NOT_SENT + "done since")
    retried = _row(id=2, last_error="451 try later")
    deliveries.mark_sent([skipped, retried], "<m@example.org>", now=NOW)
    assert (retried.status, retried.message_id, retried.sent_at, retried.updated_at) == (
        "sent", "<m@example.org>", NOW, NOW)
    assert retried.last_error is None
    assert skipped.message_id is None and skipped.sent_at is None  # left as the renderer put it
    assert deliveries.is_skipped(skipped)
