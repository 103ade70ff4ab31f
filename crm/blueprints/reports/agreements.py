"""Agreement reports `/reports/agreements` (issue 15): expiring agreements, reporting
compliance, The Code's criteria; each with a CSV of the same query string (audited as an
export). The numbers come from crm.services.agreement_reports."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_login import current_user, login_required

from crm.blueprints.csvdownload import csv_download
from crm.lib import countries
from crm.models.enums import AGREEMENT_KIND_LABELS, SECTOR_LABELS
from crm.services import agreement_reports as ar
from crm.services import audit, reports
from crm.services.errors import ValidationError

from .views import REPORTS, bp


def _compute(view: str, args, *, full: bool = False):
    """(filters, data) of `view`; ValidationError for bad filters."""
    today = ar.today_for(current_user)
    filters = ar.Filters.from_args(args, view, today)
    if view == "expiring":
        data = ar.expiring(current_user, filters, today, limit=None if full else ar.PAGE_LIMIT)
    elif view == "compliance":
        data = ar.compliance(current_user, filters, today)
    else:
        data = ar.code_criteria(current_user, filters)
    return filters, data


def _view() -> str:
    view = request.args.get("view") or "expiring"
    if view not in ar.VIEWS:
        abort(404)
    return view


@bp.get("/agreements")
@login_required
def agreements():
    view = _view()
    errors: dict[str, str] = {}
    filters = data = None
    try:
        filters, data = _compute(view, request.args)
    except ValidationError as exc:
        errors = exc.fields
    return render_template(
        "reports/agreements.html", reports=REPORTS, views=ar.VIEWS, view=view, errors=errors,
        filters=filters, data=data, args=request.args, kinds=AGREEMENT_KIND_LABELS,
        sectors=SECTOR_LABELS, regions=[r for r in countries.regions() if r != "Antarctic"],
        owners=reports.owners(current_user),
        query={k: v for k, v in request.args.items() if k != "view"},
    ), 400 if errors else 200


@bp.get("/agreements/export.csv")
@login_required
def agreements_csv():
    view = _view()
    try:
        filters, data = _compute(view, request.args, full=True)
    except ValidationError as exc:
        abort(400, "; ".join(exc.fields.values()))
    if view == "expiring":
        header, rows = ar.EXPIRING_HEADER, ar.expiring_csv_rows(data[0])
    elif view == "compliance":
        header, rows = ar.COMPLIANCE_HEADER, ar.compliance_csv_rows(data)
    else:
        header, rows = ar.CODE_HEADER, ar.code_csv_rows(data)
    audit.record("export", actor=current_user.id, object_type=f"report:agreements-{view}",
                 details={"filters": dict(request.args), "rows": len(rows), "format": "csv"})
    # the unit of work (crm/uow.py) commits the audit event before the first row is streamed
    name = f"report-agreements-{view}-{filters.first:%Y%m%d}-{filters.last:%Y%m%d}.csv"
    return csv_download(name, header, rows)
