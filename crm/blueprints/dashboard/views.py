"""The dashboard `/`: my work, my partners' health, charts; coverage and map for managers.

Chart series come from small JSON endpoints (static/js/dashboard.js fetches them); the same
numbers are rendered as tables on the page, so the charts have a text alternative.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from flask_login import current_user, login_required

from crm.blueprints.decorators import roles_required
from crm.services import dashboard, engagement

bp = Blueprint("dashboard", __name__)

OVERVIEW_ROLES = ("admin", "manager")


def _thresholds() -> engagement.Thresholds:
    return engagement.Thresholds.from_config(current_app.config)


@bp.get("/")
@login_required
def index():
    user = current_user
    overview = user.role in OVERVIEW_ROLES
    return render_template(
        "dashboard/index.html",
        work=dashboard.my_follow_ups(user),
        recent=dashboard.my_recent_interactions(user),
        health=dashboard.my_health(user, thresholds=_thresholds()),
        health_meanings=_thresholds().meanings(),
        attention=dashboard.my_needing_attention(user, thresholds=_thresholds()),
        monthly=dashboard.interactions_by_month(user),
        stages=dashboard.partners_by_stage(user),
        coverage=dashboard.coverage_matrix(user) if overview else None,
        by_country=dashboard.country_counts(user) if overview else None,
    )


@bp.get("/dashboard/data/interactions-by-month.json")
@login_required
def interactions_by_month():
    return jsonify(dashboard.interactions_by_month(current_user))


@bp.get("/dashboard/data/partners-by-stage.json")
@login_required
def partners_by_stage():
    return jsonify(dashboard.partners_by_stage(current_user))


@bp.get("/dashboard/data/coverage.json")
@roles_required(*OVERVIEW_ROLES)
def coverage():
    return jsonify(dashboard.coverage_matrix(current_user))


@bp.get("/dashboard/data/countries.json")
@roles_required(*OVERVIEW_ROLES)
def countries():
    return jsonify(dashboard.country_counts(current_user))
