"""Security headers on every response, errors included (ASVS V3.4, V16 error handling);
host-header rejection; cookie flags in production (ASVS V3.3)."""

from __future__ import annotations

import re

import pytest

from tests.support.factories import PASSWORD
from tests.support.http import csrf_token


def _check_headers(response):
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "base-uri 'none'" in csp  # ASVS 5.0 V3.4.3 minimum
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in ("same-origin", "no-referrer",
                                          "strict-origin-when-cross-origin")
    assert headers["X-Frame-Options"] == "DENY"


@pytest.fixture
def boom(app):
    """Make the dashboard raise, for a real 500 through the real error handler."""
    original = app.view_functions["dashboard.index"]

    def explode():
        raise RuntimeError("boom")

    app.view_functions["dashboard.index"] = explode
    yield
    app.view_functions["dashboard.index"] = original


def test_headers_on_200_404_500_and_429(app, db, client, make, login_as, boom):
    ok = client.get("/login")
    assert ok.status_code == 200
    _check_headers(ok)
    assert ok.headers["Cache-Control"] == "no-store"  # sign-in pages are never cached
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    _check_headers(missing)
    user = make.make_user("staff")
    login_as(user)
    error = client.get("/")
    assert error.status_code == 500 and b"Something went wrong" in error.data
    assert b"boom" not in error.data  # no stack trace or message leaks (ASVS V16.5)
    _check_headers(error)
    assert error.headers["Cache-Control"] == "no-store"
    fresh = app.test_client()
    statuses = []
    for _ in range(6):
        last = fresh.post("/login", data={"email": user.email, "password": "wrong password!",
                                          "csrf_token": csrf_token(fresh, "/login")})
        statuses.append(last.status_code)
    assert statuses[-1] == 429
    _check_headers(last)


def test_authenticated_pages_are_not_stored(client, make, login_as):
    login_as(make.make_user("staff"))
    for path in ("/", "/settings/", "/partners/"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    assert "no-store" not in client.get("/static/js/app.js").headers.get("Cache-Control", "")


def test_no_inline_scripts_on_pages(client, make, login_as):
    """script-src 'self' would block them: every <script> must load a file."""
    login_as(make.make_user("admin"))
    for path in ("/", "/settings/", "/settings/two-factor", "/admin/users", "/admin/users/new",
                 "/partners/", "/login"):
        body = client.get(path).data.decode()
        inline = [m for m in re.findall(r"<script\b([^>]*)>", body) if "src=" not in m]
        assert not inline, f"inline script on {path}"
        assert not re.search(r"\son[a-z]+\s*=\s*\"", body), f"inline handler on {path}"


def test_production_sends_hsts_and_refuses_forged_hosts(production_app):
    client = production_app.test_client()
    good = client.get("/login", headers={"Host": "crm.example.org"},
                      base_url="https://crm.example.org")
    assert good.status_code == 200
    assert "max-age=" in good.headers["Strict-Transport-Security"]
    _check_headers(good)
    forged = client.get("/login", headers={"Host": "evil.example"},
                        base_url="https://evil.example")
    assert forged.status_code == 400
    _check_headers(forged)


def test_production_cookies_are_secure_httponly_samesite(production_app):
    client = production_app.test_client()
    response = client.get("/login", base_url="https://crm.example.org")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    for key in ("SESSION_COOKIE", "REMEMBER_COOKIE"):
        assert production_app.config[f"{key}_SECURE"] is True
        assert production_app.config[f"{key}_HTTPONLY"] is True
        assert production_app.config[f"{key}_SAMESITE"] == "Lax"


def test_remember_cookie_flags_in_production(production_app, db, make):
    with production_app.app_context():
        user = make.make_user("staff")
        db.session.commit()
        email = user.email
    client = production_app.test_client()
    page = client.get("/login", base_url="https://crm.example.org")
    token = re.search(rb'name="csrf-token" content="([^"]+)"', page.data).group(1).decode()
    response = client.post("/login", base_url="https://crm.example.org",
                           headers={"Referer": "https://crm.example.org/login"},
                           data={"email": email, "password": PASSWORD, "remember": "y",
                                 "csrf_token": token})
    assert response.status_code == 302, response.data[:300]
    cookies = response.headers.getlist("Set-Cookie")
    remember = [c for c in cookies if c.startswith("remember_token=")]
    assert remember and all("Secure" in c and "HttpOnly" in c for c in remember)


def test_session_lifetime_and_idle_timeout_are_configurable(monkeypatch):
    monkeypatch.setenv("SESSION_LIFETIME_HOURS", "3")
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "15")
    from config import load_config

    config = load_config("test")
    assert config.PERMANENT_SESSION_LIFETIME.total_seconds() == 3 * 3600
    assert config.SESSION_IDLE_TIMEOUT.total_seconds() == 15 * 60


def test_idle_session_ends(app, client, make, login_as):
    import time_machine

    from crm.lib import timeutil

    login_as(make.make_user("staff"))
    assert client.get("/settings/").status_code == 200
    idle = app.config["SESSION_IDLE_TIMEOUT"].total_seconds()
    with time_machine.travel(timeutil.now_utc().timestamp() + idle + 60):
        assert client.get("/settings/").status_code == 302
