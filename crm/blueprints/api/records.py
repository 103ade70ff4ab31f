"""GET and PATCH of one record, the same for partners, contacts and interactions.

ETag on the way out; on PATCH the If-Match is checked before the service writes anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema

from . import bp
from .guard import current_user
from .helpers import (
    ETAG_HEADER,
    IF_MATCH,
    READ_ERRORS,
    WRITE_ERRORS,
    check_if_match,
    documented_errors,
    with_etag,
)


def get_and_patch(rule: str, *, name: str, tag: str, out: type[Schema],
                  patch: type[Schema], load: Callable[[int], Any],
                  update: Callable[[Any, Any, dict], Any]) -> None:
    """Register `get_<name>` and `update_<name>` on `rule` (one `<int:…_id>` argument)."""

    def get_one(**ids: int):
        return with_etag(load(*ids.values()))

    def patch_one(data: dict, **ids: int):
        record = load(*ids.values())
        check_if_match(record)
        update(current_user(), record, data)
        return with_etag(load(*ids.values()))

    get_one.__doc__ = f"One {name.replace('_', ' ')}."
    patch_one.__doc__ = "Change the fields sent; a stale If-Match answers 409."

    view = documented_errors(bp, *READ_ERRORS)(get_one)
    view = bp.response(200, out, headers=ETAG_HEADER)(view)
    bp.route(rule, methods=["GET"], tags=[tag], endpoint=f"get_{name}")(view)

    view = documented_errors(bp, *WRITE_ERRORS)(patch_one)
    view = bp.response(200, out, headers=ETAG_HEADER)(view)
    view = bp.arguments(patch(partial=True))(view)
    view = bp.doc(parameters=[IF_MATCH])(view)
    bp.route(rule, methods=["PATCH"], tags=[tag], endpoint=f"update_{name}")(view)
