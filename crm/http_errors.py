"""Friendly HTML error pages; JSON errors under /api (the API's envelope).

Every handler rolls back (crm.uow.rollback): an error answer keeps nothing the request
wrote, even when it was raised before the view ran (a rate limit, a before_request check).
"""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask.globals import request_ctx
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from crm import uow
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

    @app.errorhandler(Exception)
    def server_error(exc: Exception):
        app.logger.exception("unhandled error", exc_info=exc)
        uow.rollback()
        return _render(500, "internal_error",
                       "Something went wrong on our side. It has been logged.")
