"""last_interaction_at stays the latest occurred_at when two people log at the same moment."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from crm.lib import timeutil
from crm.models import Partner, User
from crm.services import interactions
from tests.support.wait import lock_waiters, wait_until

pytestmark = pytest.mark.postgres


def _data(when):
    return {"kind": "call", "occurred_at": when, "summary": "Concurrent"}


def test_concurrent_logging_keeps_the_latest(app, db, make):
    owner = make.make_user()
    partner = make.make_partner(owner=owner)
    db.session.commit()
    now = timeutil.now_utc()
    later, earlier = now - timedelta(hours=1), now - timedelta(days=5)
    errors: list[BaseException] = []
    blocked = threading.Event()

    def other_person():
        try:
            with app.app_context():  # its own session and connection
                actor = db.session.get(User, owner.id)
                target = db.session.get(Partner, partner.id)
                blocked.set()
                interactions.log_interaction(actor, target, _data(earlier))  # waits on the lock
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    # the first transaction updates the partner row and holds its lock …
    interactions.log_interaction(owner, partner, _data(later))
    thread = threading.Thread(target=other_person)
    thread.start()
    assert blocked.wait(30), "the second session never started"
    # … while the second one (an older date) queues behind it: seen blocked on the lock
    wait_until(lambda: lock_waiters(db.engine) or errors, timeout=30,
               message="the second transaction to wait on the partner row's lock")
    assert not errors, errors
    db.session.commit()
    thread.join(30)
    assert not thread.is_alive(), "the second transaction never finished"
    assert not errors, errors
    db.session.expire_all()
    assert db.session.get(Partner, partner.id).last_interaction_at == later
