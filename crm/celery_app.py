"""Celery from the Flask app (Flask's `celery_init_app` pattern), one unit of work per task.

Every task runs inside an app context as ONE transaction, the request's shape
(crm/uow.py): when `run` returns, the session is committed once and the callbacks queued
with `uow.after_commit` are released; when it raises (an error, a time limit, a Celery
retry) the session is rolled back and the callbacks are dropped. Tasks therefore do not
commit. The exceptions are deliberate and explained where they are made: a job's commit
before it enqueues (crm/jobs.py), the delivery protocol's commits (1)-(3) (explained once,
in crm/services/deliveries.py), and an import's commit inside its failure handling
(tasks/imports.py).
"""

from __future__ import annotations

import logging

from celery import Celery, Task
from flask import Flask

from crm import uow

log = logging.getLogger(__name__)

#: the task that delivers ledger rows by id (tasks/delivery.py); enqueue it with `enqueue`
SEND_TASK = "tasks.delivery.send"


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app whose tasks run inside a Flask app context."""

    class FlaskTask(Task):
        """A task in an app context and a unit of work (see the module docstring)."""

        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                try:
                    result = self.run(*args, **kwargs)
                except BaseException:
                    uow.rollback()
                    raise
                uow.commit()
                return result

    celery = Celery(app.name, task_cls=FlaskTask)
    celery.config_from_object(app.config["CELERY"])
    soft = int(app.config["DELIVERY_SOFT_TIME_LIMIT"])
    celery.conf.task_annotations = {SEND_TASK: {"soft_time_limit": soft,
                                                "time_limit": soft + 15}}
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


def enqueue(app: Flask, task_name: str, *args: object, **options: object) -> bool:
    """Send a task by name after the data it needs is committed.

    Never raises: if the broker is down the database still holds the work and a
    later sweep re-enqueues it. Returns whether the broker accepted the message.
    """
    celery: Celery = app.extensions["celery"]
    try:
        celery.send_task(task_name, args=list(args), retry=False, **options)
        return True
    except Exception as exc:  # noqa: BLE001 - any broker failure is survivable here
        log.warning("could not enqueue %s: %s", task_name, exc)
        return False


def enqueue_many(app: Flask, task_name: str, arg_lists: list[list]) -> int:
    """`enqueue` for many tasks over ONE producer (one broker connection, not one each).

    Never raises; returns how many messages the broker accepted (the rest are picked up
    by a later sweep, as with `enqueue`).
    """
    celery: Celery = app.extensions["celery"]
    accepted = 0
    try:
        with celery.producer_or_acquire() as producer:
            for args in arg_lists:
                celery.send_task(task_name, args=list(args), retry=False, producer=producer)
                accepted += 1
    except Exception as exc:  # noqa: BLE001 - any broker failure is survivable here
        log.warning("could not enqueue %s (%d of %d sent): %s", task_name, accepted,
                    len(arg_lists), exc)
    return accepted
