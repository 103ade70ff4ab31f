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
    assert [r.attempts for r in mine.rows] == [1, 1, 1]  # this worker has read its rows
    with other_worker(app) as session:  # the stuck-row sweep hands them to another worker
        theirs = deliveries.claim(ids, max_attempts=5, new_message_id=_new_id)
        assert set(theirs.attempts.values()) == {2}
        session.commit()
    # fenced: the attempt is no longer ours — read from the database, not this session's copy
    assert deliveries.lock_for_send(mine) == []
    assert deliveries.lock_for_send(mine, ids[:1]) == []
    # … and, still inside its transaction, it holds no lock that would make the rightful
    # owner skip the rows (the fence is in lock_for_send's WHERE clause)
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


def test_claim_takes_only_the_ids_asked_for_in_id_order(app, db):
    ids = _ids(3)
    db.session.commit()
    db.session.get(Delivery, ids[0]).recipient_email = "moved@example.org"  # heap order 2, 3, 1
    db.session.commit()
    claimed = deliveries.claim(ids[::-1], max_attempts=5, new_message_id=_new_id)
    assert claimed.ids == ids  # locks are taken in one order by every worker
    db.session.commit()
    for delivery_id in reversed(ids):  # heap order 3, 2, 1 before the send lock
        db.session.get(Delivery, delivery_id).recipient_email = "again@example.org"
        db.session.flush()
    db.session.commit()
    assert [r.id for r in deliveries.lock_for_send(claimed, ids)] == ids
    db.session.rollback()
    db.session.query(Delivery).update({"status": "queued", "attempts": 0})
    db.session.commit()
    only = deliveries.claim(ids[1:2], max_attempts=5, new_message_id=_new_id)
    assert only.ids == ids[1:2]
    db.session.flush()
    assert {r.id: (r.status, r.attempts) for r in db.session.query(Delivery)} == {
        ids[0]: ("queued", 0), ids[1]: ("sending", 1), ids[2]: ("queued", 0)}


def test_claim_gives_up_rows_whose_attempts_are_used_up(app, db):
    ids = _ids(3)
    rows = [db.session.get(Delivery, i) for i in ids]
    rows[0].status, rows[0].attempts, rows[0].last_error = "sending", 5, "451 later"
    rows[1].status, rows[1].attempts = "sending", 5
    rows[2].status, rows[2].attempts = "sending", 4
    db.session.commit()
    now = timeutil.now_utc()
    claimed = deliveries.claim(ids, max_attempts=5, new_message_id=_new_id, now=now)
    assert claimed.ids == [ids[2]] and claimed.attempts == {ids[2]: 5}
    assert [r.id for r in claimed.given_up] == ids[:2]
    assert [(r.status, r.last_error, r.updated_at) for r in claimed.given_up] == [
        ("failed", "gave up after 5 attempts (last: 451 later)", now),
        ("failed", "gave up after 5 attempts", now)]


def test_each_batch_keeps_its_own_message_id(app, db):
    ids = deliveries.insert_ignore([
        {"kind": "other", "dedupe_key": f"mid:{batch}:{i}", "batch_key": batch,
         "recipient_email": "someone@example.org"} for batch in ("a", "b") for i in range(2)])
    ids += deliveries.insert_ignore([{"kind": "other", "dedupe_key": "mid:alone",
                                      "recipient_email": "someone@example.org"}])
    for delivery_id in ids[:2]:  # batch a was tried before: its Message-ID is fixed
        db.session.get(Delivery, delivery_id).message_id = "<kept@example.org>"
    db.session.commit()
    fresh = iter(f"<new-{n}@example.org>" for n in range(1, 10))
    claimed = deliveries.claim(ids, max_attempts=5, new_message_id=lambda: next(fresh))
    assert [r.message_id for r in claimed.rows] == [
        "<kept@example.org>", "<kept@example.org>", "<new-1@example.org>",
        "<new-1@example.org>", "<new-2@example.org>"]
