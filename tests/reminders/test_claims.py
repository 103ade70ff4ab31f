"""Two workers never send the same row at once: the ledger's claim and fence, on PostgreSQL.

Each "worker" here is its own app context, so its own session and database connection —
what two `celery worker` processes have. The end-to-end version (real workers, SMTP
deliveries counted per Message-ID) lives in test_worker_delivery.py.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import text

from crm.lib import timeutil
from crm.models import Delivery
from crm.services import deliveries

pytestmark = pytest.mark.postgres


def _ids(n: int = 3) -> list[int]:
    return deliveries.insert_ignore([
        {"kind": "other", "dedupe_key": f"claim:{i}", "batch_key": "b",
         "recipient_email": "someone@example.org"} for i in range(n)])


@contextmanager
def other_worker(app):
    """A second worker's session; waiting for a lock longer than 5 s is an error, not a hang."""
    from crm.extensions import db

    with app.app_context():
        db.session.execute(text("SET lock_timeout = '5s'"))
        try:
            yield db.session
        finally:
            db.session.rollback()
            db.session.remove()


def _new_id():
    return "<claim-test@example.org>"


def test_rows_one_worker_holds_are_skipped_by_another_not_waited_for(app, db):
    ids = _ids()
    db.session.commit()
    first = deliveries.claim(ids, max_attempts=5, new_message_id=_new_id)  # holds the locks
    assert first.ids == ids
    with other_worker(app):
        second = deliveries.claim(ids, max_attempts=5, new_message_id=_new_id)
        assert second.rows == [] and second.given_up == []
        assert deliveries.requeue_stuck(timeutil.now_utc() + timedelta(hours=1)) == []
    db.session.commit()
    with other_worker(app):  # once the first worker committed, its rows are "sending"
        third = deliveries.claim(ids, max_attempts=5, new_message_id=_new_id)
        assert third.ids == ids and set(third.attempts.values()) == {2}


def test_a_worker_whose_rows_were_claimed_again_sends_nothing(app, db):
    ids = _ids()
    db.session.commit()
    mine = deliveries.claim(ids, max_attempts=5, new_message_id=_new_id)
    db.session.commit()  # attempt 1, committed before any SMTP traffic
    with other_worker(app) as session:  # the stuck-row sweep hands them to another worker
        theirs = deliveries.claim(ids, max_attempts=5, new_message_id=_new_id)
        assert set(theirs.attempts.values()) == {2}
        session.commit()
    db.session.expire_all()
    assert deliveries.lock_for_send(mine) == []  # fenced: the attempt is no longer ours
    assert deliveries.lock_for_send(mine, ids[:1]) == []
    db.session.rollback()  # the fenced worker's task ends (its lock held the rows till now)
    with other_worker(app) as session:
        rows = deliveries.lock_for_send(theirs, ids)  # (their rows left that session)
        assert [r.id for r in rows] == ids
        assert deliveries.lock_for_send(theirs, ids[1:2]) == rows[1:2]
        deliveries.mark_sent(rows, "<sent@example.org>")
        session.commit()
    db.session.expire_all()
    assert {(r.status, r.attempts, r.message_id) for r in db.session.query(Delivery)} == {
        ("sent", 2, "<sent@example.org>")}
    assert deliveries.lock_for_send(theirs, ids) == []  # sent rows are not sent again


def test_the_send_lock_is_skipped_while_another_worker_sends(app, db):
    ids = _ids(2)
    db.session.commit()
    claimed = deliveries.claim(ids, max_attempts=5, new_message_id=_new_id)
    db.session.commit()
    assert [r.id for r in deliveries.lock_for_send(claimed)] == ids  # sending, lock held
    with other_worker(app):
        assert deliveries.claim(ids, max_attempts=5, new_message_id=_new_id).rows == []
        assert deliveries.lock_for_send(claimed) == []
    assert deliveries.lock_for_send(claimed, []) == []
    db.session.rollback()
