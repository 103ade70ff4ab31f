"""The API's error envelope: {"error": {"code", "message", "fields"}} for every failure.

Registered on the API blueprint only, so the web keeps its HTML error pages. Service
errors (ValidationError, ConflictError, NotVisible, Forbidden) roll the transaction back
first: a refused write leaves nothing behind.
"""

from __future__ import annotations

import math
import time

from flask import Blueprint, current_app, g, jsonify
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from crm import uow
from crm.extensions import limiter
from crm.http_errors import database_unavailable, record_refusal, unavailable
from crm.services.access import Forbidden, NotVisible
from crm.services.errors import ConflictError, ValidationError

#: HTTP status → the lower-case code clients branch on (docs/api.md)
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


def error_response(status: int, message: str, fields: dict | None = None,
                   headers: dict | None = None):
    """A JSON error in the envelope, with `status` and optional extra headers."""
    body = {"error": {"code": CODES.get(status, "error"), "message": message,
                      "fields": fields or {}}}
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten(messages, prefix: str = "") -> dict[str, str]:
    """Marshmallow's nested {field: [msg]} → {"field": "msg", "follow_up.title": "msg"}."""
    out: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = "__all__" if key == "_schema" else str(key)
            out.update(flatten(value, f"{prefix}{name}." if not isinstance(value, list | str)
                               else f"{prefix}{name}"))
    elif isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            out[prefix.rstrip(".") or "__all__"] = " ".join(messages)
        else:
            for item in messages:
                out.update(flatten(item, prefix))
    else:
        out[prefix.rstrip(".") or "__all__"] = str(messages)
    return out


def _retry_after() -> str:
    current = limiter.current_limit
    if current is None:
        return "60"
    return str(max(1, math.ceil(current.reset_at - time.time())))


def _http_error(exc: HTTPException):
    uow.rollback()
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    if status == 422 and "messages" in data:
        messages = data["messages"]
        # webargs nests by location ({"json": {...}} / {"query": {...}})
        if isinstance(messages, dict) and set(messages) <= {"json", "query", "view_args"}:
            merged: dict = {}
            for part in messages.values():
                merged.update(part if isinstance(part, dict) else {"__all__": part})
            messages = merged
        return error_response(422, "The request has invalid fields.", flatten(messages))
    headers = dict(data.get("headers") or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')
    if status == 429:
        headers["Retry-After"] = _retry_after()
        return error_response(429, "Too many requests for this token; slow down.",
                              headers=headers)
    message = data.get("message") or exc.description or exc.name
    return error_response(status, message, headers=headers)


def _validation(exc: ValidationError):
    uow.rollback()
    return error_response(422, "The request has invalid fields.",
                          {k: str(v) for k, v in exc.fields.items()})


def _conflict(exc: ConflictError):
    uow.rollback()
    return error_response(409, str(exc) or "The record changed; fetch it again.")


def _integrity(exc: IntegrityError):
    uow.rollback()
    current_app.logger.info("api integrity error: %s", exc.orig)
    return error_response(409, "That conflicts with an existing record.")


def _not_visible(_exc: NotVisible):
    uow.rollback()
    return error_response(404, "No such record.")


def _forbidden(exc: Forbidden):
    # rolls back, then audits in its own transaction, as the token's user
    user = g.get("api_user")
    record_refusal("authz.forbidden", exc, actor_id=user.id if user is not None else None)
    return error_response(403, exc.message or "Your account cannot make this change.")


def _server_error(exc: Exception):
    if database_unavailable(exc):  # the database down: 503 + Retry-After, not a 500
        return unavailable(exc)
    current_app.logger.exception("api: unhandled error", exc_info=exc)
    uow.rollback()
    return error_response(500, "Something went wrong on our side. It has been logged.")


def init_blueprint(bp: Blueprint) -> None:
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(ValidationError, _validation)
    bp.register_error_handler(ConflictError, _conflict)
    bp.register_error_handler(IntegrityError, _integrity)
    bp.register_error_handler(NotVisible, _not_visible)
    bp.register_error_handler(Forbidden, _forbidden)
    bp.register_error_handler(Exception, _server_error)
