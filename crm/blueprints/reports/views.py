"""Reports `/reports`: engagement, silent partners, follow-up performance, coverage.

Each report has the same filter bar (period, region, sector, owner) and a CSV download
with the same query string. The numbers come from crm.services.reports.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user, login_required

from crm.blueprints.csvdownload import csv_download
from crm.forms.reports import ReportFilterForm
from crm.lib import timeutil
from crm.services import audit, engagement, reports
from crm.services.errors import ValidationError

from . import csv_rows

bp = Blueprint("reports", __name__)

REPORTS = {
    "engagement": "Engagement",
    "silence": "Lapsed and cooling partners",
    "followups": "Follow-up performance",
    "coverage": "Coverage",
}


def _compute(name: str, args, *, full: bool = False):
    """(period, filters, data) for report `name`; ValidationError for bad filters.

    `full`: the CSV lists every silent partner; the page stops at SILENCE_LIMIT rows."""
    user = current_user
    period = reports.period_from(args, user.timezone)
    filters = reports.Filters.from_args(args)
    thresholds = engagement.Thresholds.from_config(current_app.config)
    if name == "engagement":
        data = reports.engagement_report(user, period, filters)
    elif name == "silence":
        data = reports.silent_partners(user, filters, thresholds=thresholds,
                                       limit=None if full else reports.SILENCE_LIMIT)
    elif name == "followups":
        data = reports.follow_up_performance(user, period, filters)
    else:
        data = reports.coverage(user, filters)
    return period, filters, data


@bp.get("/")
@login_required
def index():
    name = request.args.get("report") or "engagement"
    if name not in REPORTS:
        abort(404)
    form = ReportFilterForm(request.args, report=name).set_choices(
        reports.owners(current_user))
    errors: dict[str, str] = {}
    period = filters = data = None
    try:
        period, filters, data = _compute(name, request.args)
    except ValidationError as exc:
        errors = exc.fields
    status = 400 if errors else 200
    return render_template("reports/index.html", reports=REPORTS, name=name, form=form,
                           errors=errors, period=period, filters=filters, data=data,
                           now=timeutil.now_utc(),
                           query={k: v for k, v in request.args.items() if k != "report"}), status


@bp.get("/<name>.csv")
@login_required
def download(name: str):
    if name not in REPORTS:
        abort(404)
    try:
        period, filters, data = _compute(name, request.args, full=True)
    except ValidationError as exc:
        abort(400, "; ".join(exc.fields.values()))
    tz = current_user.timezone
    header, rows = csv_rows.build(name, data, period, tz)
    audit.record("export", actor=current_user.id, object_type=f"report:{name}",
                 details={"filters": dict(request.args), "rows": len(rows), "format": "csv"})
    # the unit of work (crm/uow.py) commits the audit event before the first row is streamed
    today = timeutil.local_date(timeutil.now_utc(), tz)
    return csv_download(csv_rows.filename(name, period, tz, today), header, rows)
