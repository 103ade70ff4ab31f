"""One unit of work per request: the view's outcome decides commit or rollback.

As in Indico, views (web and API) never commit. `dispatch` runs the view and then

- commits `db.session` once when the view returned a 2xx/3xx response (a redirect after
  POST, an API 201/204, a streamed CSV: the commit happens before the first byte of the
  body is produced, so an export's audit event is stored before the data leaves);
- rolls back when the view raised (a service error, `abort()`, NotVisible/Forbidden: the
  error handlers in crm/http_errors.py and the API's roll back too) or answered 4xx/5xx
  (a form re-rendered with errors, a refused link, a failed sign-in).

Anything to send once the data is stored (a Celery task, an email) is queued with
`after_commit(callback)` during the request and released only after that commit:

- after a successful commit the callbacks run in the order they were queued, still inside
  the request (they may `flash`); one that raises is logged and the others still run:
  the data is committed, the response stands, and the sweeps pick up anything unsent;
- on rollback (a failed view, a 4xx/5xx answer, `rollback()`) they are dropped unrun;
- when the commit itself fails (a lost connection, a serialization failure, a constraint
  the database checks only at COMMIT) the session is rolled back, the callbacks are
  dropped unrun (nothing announces data that was not stored), and the exception goes on to
  the error handlers: a 500 page, or the API's envelope (409 for an IntegrityError); a
  lost or refused database connection (OperationalError) answers 503 with Retry-After.

Deliberate intermediate commits stay explicit `db.session.commit()` calls, each with a
comment saying why (e.g. a failed two-factor code counts toward the lockout although the
answer is 401). They do not release the queue: only the request's own commit does.
`audit.record_now` writes in its own transaction and needs no commit at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from crm.extensions import db

#: where the callbacks of the current app context wait for its commit
_QUEUE = "_uow_after_commit"


def after_commit(callback: Callable[[], Any]) -> None:
    """Run `callback` after this request's commit; never when it rolls back."""
    g.setdefault(_QUEUE, []).append(callback)


def pending() -> int:
    """How many callbacks wait for the commit (for tests and logs)."""
    return len(g.get(_QUEUE, ()))


def commit() -> None:
    """Commit the session, then release the queued callbacks (dropped if COMMIT fails)."""
    try:
        db.session.commit()
    except BaseException:
        rollback()
        raise
    for callback in g.pop(_QUEUE, []):
        try:
            callback()
        except Exception:  # noqa: BLE001 - the data is stored; a sweep retries what failed
            current_app.logger.exception("after-commit callback %r failed", callback)


def rollback() -> None:
    """Discard the request's changes and its queued callbacks now.

    Views call it themselves only for a refusal that still answers 2xx/3xx (a flash and a
    redirect, an htmx row showing the error) or before re-rendering a form after a service
    error (the template's queries must not autoflush half-done work).
    """
    g.pop(_QUEUE, None)
    db.session.rollback()


def succeeded(response: Response) -> bool:
    """A 2xx or 3xx answer commits; anything else rolls back."""
    return response.status_code < 400


def dispatch(app: Flask, view: Callable[[], ResponseReturnValue]) -> Response:
    """Run `view` as one unit of work and return its response (see the module docstring).

    Called inside Flask's dispatch, so an exception from the view or from COMMIT reaches
    the registered error handlers like any other.
    """
    try:
        response = app.make_response(view())
    except BaseException:
        rollback()
        raise
    if succeeded(response):
        commit()
    else:
        rollback()
    return response
