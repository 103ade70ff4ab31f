"""Partner CRM: the Flask application factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.typing import ResponseReturnValue

from config import BaseConfig, load_config
from crm import uow

ROOT = Path(__file__).resolve().parent.parent


class CRMFlask(Flask):
    """Flask whose every view runs as one unit of work (crm/uow.py): views never commit."""

    def dispatch_request(self) -> ResponseReturnValue:
        return uow.dispatch(self, super().dispatch_request)


def create_app(config_name: str | BaseConfig | None = None, **overrides) -> Flask:
    """Build the application: config, extensions, blueprints, errors, CLI, Celery."""
    config = config_name if isinstance(config_name, BaseConfig) else load_config(config_name)
    app = CRMFlask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=config.INSTANCE_DIR,
        instance_relative_config=True,
    )
    app.config.from_object(config)
    app.config["CRM_CONFIG_NAME"] = config.name
    app.config.update(overrides)
    register_proxy_fix(app)

    from . import celery_app, http_errors, security, templating
    from .blueprints import register_blueprints
    from .cli import register_commands
    from .extensions import register_extensions

    register_extensions(app)
    security.init_app(app)
    templating.init_app(app)
    register_blueprints(app)
    http_errors.init_app(app)
    register_commands(app)
    celery_app.celery_init_app(app)
    return app


def register_proxy_fix(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client address and scheme from
    X-Forwarded-For/-Proto (so rate limits and the audit trail see the real client).

    With 0 (the default) those headers are ignored: a client cannot pick its own address.
    The Host is never taken from X-Forwarded-Host (TRUSTED_HOSTS checks the real one).
    """
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
