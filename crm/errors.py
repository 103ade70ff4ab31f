"""Friendly HTML error pages; JSON errors under /api (the API's envelope)."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from crm.services.access import Forbidden, NotVisible


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _render(status: int, code: str, message: str):
    if _wants_json():
        return jsonify({"error": {"code": code, "message": message, "fields": {}}}), status
    return render_template("errors/error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(NotVisible)
    def not_visible(_exc):
        return _render(404, "not_found", "We could not find that page or record.")

    @app.errorhandler(Forbidden)
    def forbidden(_exc):
        return _render(403, "forbidden", "Your account cannot make this change.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        response = _render(exc.code or 500, code, exc.description or exc.name)
        return response

    @app.errorhandler(Exception)
    def server_error(exc: Exception):
        app.logger.exception("unhandled error", exc_info=exc)
        from crm.extensions import db

        db.session.rollback()
        return _render(500, "internal_error",
                       "Something went wrong on our side. It has been logged.")
