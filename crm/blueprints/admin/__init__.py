"""Administration: one module per page group, each owned by its feature."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import audit, deliveries, imports, personal_data, retention, users, views  # noqa: E402,F401

__all__ = ["bp"]
