"""Streaming CSV responses for the three exports."""

from __future__ import annotations

from flask import Response, abort, request, stream_with_context
from flask_login import current_user, login_required

from crm.services import csvsafe, exports, timeutil
from crm.services.errors import ValidationError

from . import bp


def _export(kind: str) -> Response:
    user = current_user
    try:
        export = exports.build(kind, user, request.args)
    except ValidationError as exc:
        abort(400, "Cannot export with these filters: " + "; ".join(
            f"{k}: {v}" for k, v in exc.fields.items()))
    # the unit of work (crm/uow.py) commits the audit event before the first row is streamed
    filename = f"{kind}-{timeutil.now_utc():%Y%m%d-%H%M}.csv"
    return Response(stream_with_context(csvsafe.stream(export.header, export.rows)),
                    mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "X-Export-Rows": str(export.count)})


@bp.get("/partners.csv")
@login_required
def partners():
    return _export("partners")


@bp.get("/contacts.csv")
@login_required
def contacts():
    return _export("contacts")


@bp.get("/interactions.csv")
@login_required
def interactions():
    return _export("interactions")
