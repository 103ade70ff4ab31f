"""Administration (placeholder until its issue lands)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("admin", __name__)


@bp.get("/")
@login_required
def index():
    return render_template("placeholder.html", title="Administration")
