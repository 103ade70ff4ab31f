"""Who is calling and whether the request is acceptable, before any view runs.

Bearer tokens only: a session cookie does not authenticate the API, so the API needs no
CSRF token and a web page cannot make a signed-in browser write through it. Order of the
checks: token (401) → read-only account (403) → body size (413) → content type (415) →
JSON syntax (400); the schemas then answer 422.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, g, request
from sqlalchemy import update
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType
from werkzeug.exceptions import Unauthorized as _Unauthorized

from crm.extensions import csrf, db, limiter
from crm.lib import timeutil
from crm.models import ApiToken, User
from crm.services import audit
from crm.services.access import Forbidden
from crm.services.accounts import tokens

#: the API's own body limit (the app allows 16 MiB for CSV uploads)
MAX_BODY = 1024 * 1024
#: `last_used_at` is written at most this often per token: reads stay write-free
TOUCH_EVERY = timedelta(minutes=1)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: writes that take no request body
BODYLESS = frozenset({"api.archive_partner", "api.complete_follow_up"})
#: writes whose JSON body is optional: an empty body passes, any other must be JSON
OPTIONAL_BODY = frozenset({"api.erase_contact"})


class Unauthorized(_Unauthorized):
    description = "A valid API token is required: Authorization: Bearer <token>."


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer …` header, if any."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def rate_limit_key() -> str:
    """Per token (by its hash: the plain token is never kept); per address without one."""
    token = bearer_token()
    if token:
        return "api-token:" + tokens.hash_token(token)[:40]
    return "api-ip:" + (request.remote_addr or "-")


def current_user() -> User:
    """The token's user for this request (set by `authenticate`)."""
    return g.api_user


def authenticate() -> None:
    token = bearer_token()
    found = tokens.user_for_token(token) if token else None
    if found is None:
        raise Unauthorized()
    user, row = found
    g.api_user, g.api_token = user, row
    _touch(row)


def _touch(row: ApiToken) -> None:
    now = timeutil.now_utc()
    if row.last_used_at is not None and now - row.last_used_at < TOUCH_EVERY:
        return
    db.session.execute(update(ApiToken).where(ApiToken.id == row.id)
                       .values(last_used_at=now))
    # deliberate: the token was used even if this request fails and rolls back
    db.session.commit()


def refuse_read_only() -> None:
    user = g.api_user
    if request.method in WRITE_METHODS and not user.can_write:
        audit.record_now("authz.forbidden", actor=user.id,
                         details={"endpoint": request.endpoint, "via": "api"})
        raise Forbidden("read-only account")


def check_body() -> None:
    if request.method not in WRITE_METHODS:
        return
    request.max_content_length = MAX_BODY
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise RequestEntityTooLarge(f"Request bodies are limited to {MAX_BODY // 1024} KiB.")
    if request.endpoint in BODYLESS or request.method == "DELETE":
        return
    if request.endpoint in OPTIONAL_BODY and not request.content_length \
            and not request.get_data(cache=True):
        return
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as JSON (Content-Type: application/json).")
    try:
        request.get_json()
    except RequestEntityTooLarge:
        raise
    except BadRequest:
        raise BadRequest("The body is not valid JSON.") from None


def init_blueprint(bp: Blueprint) -> None:
    csrf.exempt(bp)
    limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=rate_limit_key)(bp)
    bp.before_request(authenticate)
    bp.before_request(refuse_read_only)
    bp.before_request(check_body)
