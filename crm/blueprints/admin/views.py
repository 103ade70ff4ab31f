"""The admin landing page."""

from __future__ import annotations

from flask import render_template

from crm.blueprints.decorators import roles_required

from . import bp


@bp.get("/")
@roles_required("admin", "manager")
def index():
    return render_template("admin/index.html")
