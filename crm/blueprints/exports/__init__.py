"""CSV exports (built by the dashboard/reports/export issue)."""

from flask import Blueprint

bp = Blueprint("exports", __name__)

__all__ = ["bp"]
