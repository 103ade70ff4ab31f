"""Streaming CSV responses for the four exports."""

from __future__ import annotations

from flask import Response, abort, request
from flask_login import current_user, login_required

from crm.blueprints.csvdownload import csv_download
from crm.services import exports
from crm.services.errors import ValidationError

from . import bp


def _export(kind: str) -> Response:
    user = current_user
    try:
        export = exports.build(kind, user, request.args)
    except ValidationError as exc:
        abort(400, "Cannot export with these filters: " + "; ".join(
            f"{k}: {v}" for k, v in exc.fields.items()))
    # exports.build audited the export; the unit of work commits it before the first row
    return csv_download(exports.filename(kind, user.timezone), export.header,
                        export.rows, headers={"X-Export-Rows": str(export.count)})


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


@bp.get("/agreements.csv")
@login_required
def agreements():
    return _export("agreements")
