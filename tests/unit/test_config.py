"""Configuration: production refuses to start half-configured; cookie flags; URLs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from config import ConfigError, ProductionConfig, load_config, normalise_database_url

PRODUCTION_ENV = {
    "SECRET_KEY": "s" * 40,
    "DATABASE_URL": "postgresql://u@db/crm",
    "REDIS_URL": "redis://redis:6379/0",
}


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL"])
def test_production_names_the_missing_variable(monkeypatch, missing):
    for key, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigError, match=f"^{missing} must be set"):
        ProductionConfig()


def test_production_start_up_without_secret_key_fails_with_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "CRM_CONFIG": "production",
           "DATABASE_URL": PRODUCTION_ENV["DATABASE_URL"], "REDIS_URL": PRODUCTION_ENV["REDIS_URL"],
           "CRM_INSTANCE_PATH": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", "from crm import create_app; create_app()"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when CRM_CONFIG=production" in result.stderr


def test_production_cookie_flags(monkeypatch):
    for key, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(key, value)
    config = ProductionConfig()
    assert config.SESSION_COOKIE_SECURE and config.REMEMBER_COOKIE_SECURE
    assert config.SESSION_COOKIE_HTTPONLY and config.REMEMBER_COOKIE_HTTPONLY
    assert config.SESSION_COOKIE_SAMESITE == "Lax" == config.REMEMBER_COOKIE_SAMESITE
    assert config.CELERY["broker_url"] == "redis://redis:6379/0"
    assert config.SQLALCHEMY_DATABASE_URI.startswith("postgresql+psycopg://")


def test_session_cookie_is_httponly_and_lax(client, make, db):
    from tests.support.http import login

    user = make.make_user()
    db.session.commit()
    response = login(client, user)
    cookie = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_unknown_config_name_is_refused():
    with pytest.raises(ConfigError, match="unknown"):
        load_config("staging")


@pytest.mark.parametrize(("given", "expected"), [
    ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
    ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
    ("sqlite:///x.db", "sqlite:///x.db"),
])
def test_plain_postgresql_urls_use_psycopg3(given, expected):
    assert normalise_database_url(given) == expected


def test_development_defaults_need_nothing(monkeypatch, tmp_path):
    for key in ("DATABASE_URL", "REDIS_URL", "SMTP_HOST", "SECRET_KEY"):
        monkeypatch.delenv(key, raising=False)
    config = load_config("development")
    assert config.SQLALCHEMY_DATABASE_URI.startswith("sqlite:///")
    assert config.CELERY["broker_url"] == "filesystem://"
    assert len(config.SECRET_KEY) > 30
