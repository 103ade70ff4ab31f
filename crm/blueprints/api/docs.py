"""The OpenAPI document and the human-readable docs page (outside the token guard)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

bp = Blueprint("api_docs", __name__)


@bp.get("/api/v1/openapi.json")
def openapi_json():
    """The OpenAPI 3 document, generated from the same schemas that validate requests."""
    document = current_app.extensions["crm-api"].spec.to_dict()
    # flask-smorest adds a tag for the blueprint itself; operations carry their own tags
    document["tags"] = [t for t in document.get("tags", []) if t["name"] != "api"]
    return jsonify(document)


@bp.get("/api/docs")
def docs_page():
    """Redoc (vendored) rendering of /api/v1/openapi.json; its JS lives in a static file."""
    return render_template("api/docs.html")
