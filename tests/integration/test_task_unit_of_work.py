"""Every Celery task is one unit of work (crm/celery_app.py): it commits once when it
returned, rolls back when it raised (a Celery retry included), and releases what it queued
with `uow.after_commit` only after that commit. Run in-process through the app's real
Task class (the worker runs the same `__call__`); tests/integration/test_worker.py shows a
task that never commits itself (`tasks.misc.ping`) storing its row through a real worker."""

from __future__ import annotations

import uuid

import pytest
from celery.exceptions import Retry
from sqlalchemy import select

from crm import uow
from crm.extensions import db as _db
from crm.models import SiteSetting


@pytest.fixture
def write_task(app):
    """A task that writes a SiteSetting, queues an after-commit callback, then maybe fails."""
    celery = app.extensions["celery"]
    released: list[str] = []

    @celery.task(bind=True, name=f"tests.uow.write.{uuid.uuid4().hex[:8]}")
    def write(self, key: str, how: str) -> str:
        _db.session.add(SiteSetting(key=key, value={"how": how}))
        _db.session.flush()
        uow.after_commit(lambda: released.append(key))
        if how == "raise":
            raise RuntimeError("the task failed after writing")
        if how == "retry":
            raise self.retry(countdown=60, max_retries=None)
        return "done"

    yield write, released
    celery.tasks.unregister(write.name)


def _stored(db, key: str) -> SiteSetting | None:
    db.session.rollback()
    return db.session.scalar(select(SiteSetting).where(SiteSetting.key == key))


def test_a_task_that_returns_is_committed_once_then_releases_its_callbacks(db, write_task):
    write, released = write_task
    key = f"uow:{uuid.uuid4().hex[:8]}"
    assert write(key, "ok") == "done"
    assert _stored(db, key) is not None
    assert released == [key]


@pytest.mark.parametrize(("how", "error"), [("raise", RuntimeError), ("retry", Retry)])
def test_a_task_that_raises_is_rolled_back_and_its_callbacks_dropped(db, write_task, how,
                                                                     error):
    write, released = write_task
    key = f"uow:{uuid.uuid4().hex[:8]}"
    with pytest.raises(error):
        write(key, how)
    assert _stored(db, key) is None
    assert released == []
