"""The Code members view (issue 15, helper E): member companies (partners with a signed or
active agreement of kind `the_code`) by country and region — the dashboard's world map and a
table alternative —, the share meeting all six criteria, and reports overdue. Routes join
`views.bp`; the numbers come from crm.services.agreement_reports.code_members."""

from __future__ import annotations

from flask import jsonify, render_template
from flask_login import current_user, login_required

from crm.lib import countries
from crm.services import agreement_reports

from .views import bp


def _members():
    return agreement_reports.code_members(current_user,
                                          agreement_reports.today_for(current_user))


@bp.get("/agreements/code-members")
@login_required
def code_members():
    data = _members()
    return render_template("agreements/code_members.html", data=data,
                           legend=data.map_data()["legend"],
                           country_name=countries.country_name)


@bp.get("/agreements/code-members/countries.json")
@login_required
def code_members_countries():
    """The map's data, in the dashboard map's shape (static/js/dashboard.js)."""
    return jsonify(_members().map_data())
