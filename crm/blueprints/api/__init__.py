"""JSON API v1 (placeholder until its issue lands)."""

from flask import Blueprint, jsonify

bp = Blueprint("api", __name__)


@bp.get("/me")
def me():
    return jsonify({"error": {"code": "unauthorized", "message": "Not implemented yet",
                              "fields": {}}}), 401
