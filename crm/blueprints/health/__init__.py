"""GET /healthz: database and broker state, answered quickly even when a service hangs."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from crm.services import system_health as health

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    database = health.database_state()
    broker = health.broker_state(current_app.config.get("REDIS_URL"),
                                 current_app.config["CELERY"])
    ok = database["status"] == "up" and broker["status"] == "up"
    return jsonify({"status": "ok" if ok else "degraded", "database": database,
                    "broker": broker}), 200
