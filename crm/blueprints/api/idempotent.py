"""`Idempotency-Key` on the API's create operations (docs/api.md#idempotency-keys).

`@idempotent` sits between `@bp.route` and `@bp.arguments`: it checks the header, claims
the key in the request's unit of work (crm/services/idempotency.py) and either replays the
stored answer (with `Idempotent-Replayed: true`) or runs the view and stores its answer
when it succeeded. Without the header the view runs as before.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, request
from flask_smorest import Blueprint

from crm.services import idempotency

from .errors import error_response
from .guard import current_user

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
#: the answer headers a replay repeats (the body's type and the record's version)
KEPT_HEADERS = ("Content-Type", "ETag", "Location")

IDEMPOTENCY_KEY = {
    "in": "header", "name": HEADER, "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY,
               "pattern": r"^[\x20-\x7E]+$"},
    "description": (
        "Any unique string (a UUID is fine), 1-255 printable ASCII characters, per API "
        "token. Retrying with the same key and the same body within 24 hours answers the "
        "first attempt's status and body (with `Idempotent-Replayed: true`) and creates "
        "nothing. The same key with a different body answers 422; while the first attempt "
        "is still running, a retry waits for it, then replays (409 if it runs too long). "
        "Only successful answers are stored: after a 4xx you may retry with the same key."),
}
REPLAYED_HEADER = {REPLAYED: {"description": "`true` when this is the stored answer of an "
                                             "earlier request with the same Idempotency-Key",
                              "schema": {"type": "string", "enum": ["true"]}}}


def idempotent(bp: Blueprint) -> Callable:
    """Decorator: honour `Idempotency-Key` on this create operation and document it."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            raw = request.headers.get(HEADER)
            if raw is None:
                return view(*args, **kwargs)
            return _run(raw, view, args, kwargs)

        return bp.doc(parameters=[IDEMPOTENCY_KEY])(wrapper)

    return decorator


def _run(raw: str, view: Callable[..., Any], args: tuple, kwargs: dict):
    try:
        key = idempotency.check_key(raw)
    except idempotency.InvalidKey as exc:
        return error_response(400, str(exc), {HEADER: str(exc)})
    request_hash = idempotency.fingerprint(request.method, request.path,
                                           request.get_json(silent=True))
    try:
        claimed = idempotency.claim(
            current_user().id, g.api_token.id, key, request_hash,
            lock_timeout_ms=current_app.config["IDEMPOTENCY_WAIT_MS"])
    except idempotency.KeyReused:
        message = "This Idempotency-Key was already used for a different request."
        return error_response(422, message, {HEADER: message})
    except idempotency.InProgress:
        return error_response(409, "A request with this Idempotency-Key is still in "
                                   "progress; retry in a moment.", headers={"Retry-After": "1"})
    if isinstance(claimed, idempotency.Answer):
        response = current_app.response_class(claimed.body, status=claimed.status,
                                              headers=claimed.headers)
        response.headers[REPLAYED] = "true"
        return response
    response = current_app.make_response(view(*args, **kwargs))
    if response.status_code < 400:
        idempotency.record(claimed, response.status_code, response.get_data(as_text=True),
                           {name: response.headers[name] for name in KEPT_HEADERS
                            if name in response.headers})
    return response
