"""Friendly HTML error pages; JSON errors under /api (the API's envelope).

Every handler rolls back (crm.uow.rollback): an error answer keeps nothing the request
wrote, even when it was raised before the view ran (a rate limit, a before_request check).

The database down (restarting, failing over, unreachable) answers 503 with Retry-After:
a standalone page that touches no table (base.html loads the signed-in user), or the
API's JSON envelope. The engine's `pool_pre_ping` (config) replaces the dead connections
once it is back, so the app recovers without a restart.
"""

from __future__ import annotations

from contextlib import suppress

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask.globals import request_ctx
from flask_login import current_user
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from crm import input_guard, uow
from crm.services import audit
from crm.services.access import Forbidden, NotVisible


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _render(status: int, code: str, message: str):
    if request_ctx.url_adapter is None:  # e.g. a Host not in TRUSTED_HOSTS: no URLs to build
        return Response(f"{status} {message}\n", status=status, mimetype="text/plain")
    if _wants_json():
        return jsonify({"error": {"code": code, "message": message, "fields": {}}}), status
    return render_template("errors/error.html", status=status, message=message), status


#: seconds a client is told to wait before trying again while the database is down
RETRY_AFTER_SECONDS = 30
UNAVAILABLE = "The database is not answering right now. Please try again in a minute."


def database_unavailable(exc: BaseException) -> bool:
    """An error that means the database cannot be reached (not a bug in a query)."""
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)


def unavailable(exc: Exception):
    """503 + Retry-After for a database outage: JSON under /api, else a page with no query."""
    current_app.logger.warning("database unavailable: %s", exc)
    g.database_down = True  # after_request hooks must not load the signed-in user now
    with suppress(Exception):  # the rollback may fail too on a dead connection
        uow.rollback()
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if _wants_json() or request_ctx.url_adapter is None:
        response = jsonify({"error": {"code": "service_unavailable", "message": UNAVAILABLE,
                                      "fields": {}}})
    else:
        # the template alone, without context processors: Flask-Login's would load the
        # signed-in user from the very database that is down
        page = current_app.jinja_env.get_template("errors/unavailable.html")
        response = Response(page.render(message=UNAVAILABLE), mimetype="text/html")
    response.status_code = 503
    response.headers.update(headers)
    return response


def record_refusal(action: str, exc: Exception, actor_id: int | None = None) -> None:
    """Audit an authorization failure in its own transaction (the request's may roll back).

    `actor_id` defaults to the signed-in web user (the API passes its token's user).
    """
    uow.rollback()
    actor = actor_id if actor_id is not None else (
        getattr(current_user, "id", None) if current_user else None)
    try:
        audit.record_now(action, actor=actor,
                         object_type=(str(exc.args[0])[:40] if exc.args else None),
                         details={"method": request.method, "path": request.path[:200],
                                  "endpoint": request.endpoint})
    except Exception:  # noqa: BLE001 - an audit outage must not turn a 404 into a 500
        current_app.logger.exception("could not record %s", action)


def init_app(app: Flask) -> None:
    input_guard.init_app(app)

    @app.errorhandler(NotVisible)
    def not_visible(exc):
        record_refusal("authz.not_found", exc)
        return _render(404, "not_found", "We could not find that page or record.")

    @app.errorhandler(Forbidden)
    def forbidden(exc):
        record_refusal("authz.forbidden", exc)
        return _render(403, "forbidden",
                       getattr(exc, "message", None) or "Your account cannot make this change.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        uow.rollback()
        code = (exc.name or "error").lower().replace(" ", "_")
        response = _render(exc.code or 500, code, exc.description or exc.name)
        return response

    app.register_error_handler(OperationalError, unavailable)

    @app.errorhandler(Exception)
    def server_error(exc: Exception):
        if database_unavailable(exc):
            return unavailable(exc)
        app.logger.exception("unhandled error", exc_info=exc)
        uow.rollback()
        return _render(500, "internal_error",
                       "Something went wrong on our side. It has been logged.")
