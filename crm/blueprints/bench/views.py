"""The baseline page: the cheapest page the stack can serve (one SELECT 1)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required
from sqlalchemy import text

from crm.extensions import db

bp = Blueprint("bench", __name__, template_folder="templates")


@bp.get("/baseline")
@login_required
def baseline():
    value = db.session.execute(text("SELECT 1")).scalar_one()
    return render_template("bench/baseline.html", value=value)
