"""/admin/audit: the audit trail, filtered and paginated (admins only; read-only)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import render_template, request
from flask_login import current_user
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from crm.blueprints.decorators import roles_required
from crm.blueprints.reports.views import REPORTS
from crm.extensions import db
from crm.lib import safetext, timeutil, when
from crm.models import AuditEvent, User
from crm.services import audit_display

from . import bp

PER_PAGE = 50


def _parse_date(value: str) -> date | None:
    try:
        return when.iso_day(value)
    except ValueError:
        return None


def audit_filters(args) -> tuple[Select, dict[str, str], dict[str, str]]:
    """The filtered statement, the filters understood, and messages for those that were not.

    Dates are whole days in the admin's own time zone.
    """
    stmt = select(AuditEvent)
    filters: dict[str, str] = {}
    errors: dict[str, str] = {}
    raw = {k: (args.get(k) or "").strip() for k in
           ("actor_id", "object_type", "object_id", "action", "date_from", "date_to")}
    if raw["actor_id"]:
        if raw["actor_id"].isascii() and raw["actor_id"].isdigit() and \
                safetext.is_id(int(raw["actor_id"])):
            stmt = stmt.where(AuditEvent.actor_id == int(raw["actor_id"]))
            filters["actor_id"] = raw["actor_id"]
        else:
            errors["actor_id"] = "Unknown actor."
    for key in ("object_type", "object_id"):
        if raw[key]:
            stmt = stmt.where(getattr(AuditEvent, key) == raw[key][:64])
            filters[key] = raw[key][:64]
    if raw["action"]:
        # "partner" matches partner.create, partner.update …; "partner.update" matches itself
        action = raw["action"][:60]
        stmt = stmt.where((AuditEvent.action == action)
                          | AuditEvent.action.startswith(action.rstrip(".") + ".", autoescape=True))
        filters["action"] = action
    tz = current_user.timezone
    for key in ("date_from", "date_to"):
        if not raw[key]:
            continue
        day = _parse_date(raw[key])
        if day is None:
            errors[key] = f"{raw[key]!r} is not a date (YYYY-MM-DD)."
            continue
        filters[key] = raw[key]
        if key == "date_from":
            stmt = stmt.where(AuditEvent.at >= timeutil.local_day_at(day, 0, tz))
        else:
            stmt = stmt.where(AuditEvent.at < timeutil.local_day_at(day + timedelta(days=1), 0,
                                                                     tz))
    return stmt, filters, errors


@bp.get("/audit")
@roles_required("admin")
def audit():
    stmt, filters, errors = audit_filters(request.args)
    stmt = stmt.options(joinedload(AuditEvent.actor)).order_by(AuditEvent.at.desc(),
                                                               AuditEvent.id.desc())
    page = db.paginate(stmt, per_page=PER_PAGE, max_per_page=200, error_out=False)
    users = db.session.scalars(select(User).order_by(func.lower(User.name))).all()
    object_types = db.session.scalars(
        select(AuditEvent.object_type).where(AuditEvent.object_type.is_not(None))
        .distinct().order_by(AuditEvent.object_type)).all()
    rows = audit_display.present(current_user, page.items, report_titles=REPORTS)
    return render_template("admin/audit.html", page=page, rows=rows, filters=filters,
                           errors=errors, users=users, object_types=object_types,
                           kind_label=audit_display.kind_label)
