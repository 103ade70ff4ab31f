"""One package per area; each exposes `bp`. Views are thin: parse, call a service, render."""

from __future__ import annotations

from importlib import import_module

from flask import Flask

#: (package, url prefix) — order matters only for readability
BLUEPRINTS = (
    ("auth", None),
    ("dashboard", None),
    ("health", None),
    ("partners", "/partners"),
    ("contacts", None),
    ("agreements", None),
    ("interactions", "/interactions"),
    ("followups", "/follow-ups"),
    ("reports", "/reports"),
    ("exports", "/exports"),
    ("admin", "/admin"),
    ("settings", "/settings"),
    ("api", "/api/v1"),
)


def register_blueprints(app: Flask) -> None:
    for name, prefix in BLUEPRINTS:
        module = import_module(f"crm.blueprints.{name}")
        module.register(app) if hasattr(module, "register") else app.register_blueprint(
            module.bp, url_prefix=prefix
        )
    if app.config.get("DEV_OUTBOX"):
        from .dev import bp as dev_bp

        app.register_blueprint(dev_bp, url_prefix="/dev")
    if app.config.get("BENCH_ENDPOINTS"):
        from . import bench

        bench.register(app)
