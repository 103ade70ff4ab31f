"""JSON API v1 (docs/api.md), built with flask-smorest on the plain Flask app.

The marshmallow schemas in `schemas.py` validate every request and generate the
OpenAPI 3 document served at /api/v1/openapi.json; /api/docs renders it with the
vendored Redoc. Views are thin: they parse and call the same services as the web; the
request's unit of work (crm/uow.py) commits a 2xx answer and rolls back every error.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api as _Api
from flask_smorest import Blueprint

from . import docs
from .schemas import ErrorSchema

PREFIX = "/api/v1"

bp = Blueprint("api", __name__, description="Partner CRM JSON API")


class Api(_Api):
    """flask-smorest without its app-wide error handler (the web keeps its HTML pages)
    and with our error envelope as the documented default error."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        """Errors are handled on the API blueprint only (see errors.py)."""


def spec_kwargs() -> dict:
    return {
        "title": "Partner CRM API",
        "version": "1.0.0",
        "openapi_version": "3.0.3",
        "servers": [{"url": "/"}],
        "info": {"description": (
            "Authenticate with a personal token: `Authorization: Bearer <token>` "
            "(create one on /settings/tokens or with `flask --app crm crm create-token EMAIL`). "
            "Lists answer {items, total, page, per_page}; errors answer "
            "{error: {code, message, fields}}; times are ISO 8601 with an offset. "
            "The create operations (POST partners, interactions, follow-ups, contacts, "
            "agreements and an agreement's reports) accept "
            "an `Idempotency-Key` header: a retry with the same key and body within 24 hours "
            "answers the first answer again (`Idempotent-Replayed: true`) and creates nothing; "
            "the same key with another body answers 422. Keys are per token.")},
        "security": [{"bearerAuth": []}],
    }


def register(app: Flask) -> None:
    """Called by crm.blueprints.register_blueprints: the API and its docs page."""
    api = Api(spec_kwargs=spec_kwargs())
    api.init_app(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer",
                       "description": "a personal API token (crm_…)"})
    api.register_blueprint(bp, url_prefix=PREFIX)
    app.register_blueprint(docs.bp)
    app.extensions["crm-api"] = api


from . import errors, guard  # noqa: E402

errors.init_blueprint(bp)
guard.init_blueprint(bp)

from . import (  # noqa: E402,F401
    agreements,
    contacts,
    followups,
    interactions,
    me,
    partners,
    personal_data,
)
