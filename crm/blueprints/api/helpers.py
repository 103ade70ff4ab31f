"""Small helpers the API views share: pagination, ETags, documented error responses."""

from __future__ import annotations

from typing import Any

from flask import request
from sqlalchemy import Select, func, select

from crm.extensions import db
from crm.services import access, records

from .fields import MAX_ID
from .guard import current_user
from .schemas import MAX_PER_PAGE, ErrorSchema

ETAG_HEADER = {"ETag": {"description": "the record's version; send it back in If-Match",
                        "schema": {"type": "string"}}}
IF_MATCH = {"in": "header", "name": "If-Match", "required": False,
            "schema": {"type": "string"},
            "description": "the ETag you read; a stale one answers 409 and changes nothing"}


def visible(model: type, object_id: int, *options: Any) -> Any:
    """The record if the token's user may see it, else 404 (ids past 32 bits included)."""
    if not 0 < object_id <= MAX_ID:
        raise access.NotVisible(model.__name__)
    return access.get_visible(current_user(), model, object_id, *options)


def paginate(stmt: Select, args: dict[str, Any], *options: Any) -> dict[str, Any]:
    """One page of `stmt` in the list envelope; `total` counts every matching row."""
    page = args["page"]
    per_page = min(args["per_page"], MAX_PER_PAGE)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(
        stmt.options(*options).limit(per_page).offset((page - 1) * per_page)
    ).unique().all()
    return {"items": rows, "total": total, "page": page, "per_page": per_page}


def etag(obj: Any) -> str:
    return f'"v{obj.version}"'


def with_etag(obj: Any, status: int = 200) -> tuple[Any, int, dict[str, str]]:
    """A single record's response: the record plus its ETag."""
    return obj, status, {"ETag": etag(obj)}


def check_if_match(obj: Any) -> None:
    """A PATCH carrying a stale If-Match answers 409 before anything is written."""
    wanted = request.if_match
    if not wanted or wanted.star_tag:
        return
    records.check_version(obj, records.versions_named(wanted.as_set(include_weak=True), "v"))


def documented_errors(bp, *statuses: int):
    """Decorator: declare the error envelope for `statuses` in the OpenAPI document."""

    def decorator(view):
        for status in reversed(statuses):
            view = bp.alt_response(status, schema=ErrorSchema,
                                   description=_DESCRIPTIONS.get(status, "error"))(view)
        return view

    return decorator


_DESCRIPTIONS = {
    400: "malformed JSON",
    401: "missing, unknown, revoked or expired token",
    403: "read-only account",
    404: "no such record (or not visible to you)",
    409: "stale If-Match or conflicting state",
    413: "body over 1 MiB",
    415: "body is not JSON",
    422: "invalid fields",
    429: "rate limit reached (see Retry-After)",
}
READ_ERRORS = (401, 404, 422, 429)
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422, 429)
