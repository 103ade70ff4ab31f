"""Fixtures for the security suite: a production-configured app on the test database."""

from __future__ import annotations

import pytest


@pytest.fixture
def production_app(app, monkeypatch):
    """create_app("production") with the required variables, on the same test database."""
    from crm import create_app

    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.setenv("DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # never contacted here
    monkeypatch.setenv("TRUSTED_HOSTS", "crm.example.org")
    monkeypatch.setenv("CRM_BASE_URL", "https://crm.example.org")
    prod = create_app("production")
    yield prod
    with prod.app_context():
        from crm.extensions import db

        db.session.remove()
        db.engine.dispose()
    app.extensions["celery"].set_default()  # create_app made the production Celery the default
    from crm.extensions import rebind_limiter

    rebind_limiter(app)  # create_app pointed the shared limiter at the production Redis
