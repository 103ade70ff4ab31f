"""Security headers on every response, errors included (ASVS V3.4, V16 error handling);
host-header rejection; cookie flags in production (ASVS V3.3)."""

from __future__ import annotations

import re
from datetime import timedelta

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


def _hsts(value: str) -> dict[str, str]:
    """Strict-Transport-Security directives, lower-cased names -> values ("" when bare)."""
    directives = {}
    for part in value.split(";"):
        name, _, arg = part.strip().partition("=")
        if name:
            directives[name.lower()] = arg.strip()
    return directives


def test_production_sends_hsts_and_refuses_forged_hosts(production_app):
    client = production_app.test_client()
    good = client.get("/login", headers={"Host": "crm.example.org"},
                      base_url="https://crm.example.org")
    assert good.status_code == 200
    policy = _hsts(good.headers["Strict-Transport-Security"])
    assert int(policy["max-age"]) >= 365 * 24 * 3600, policy  # at least one year
    assert "includesubdomains" in policy, policy  # docs/security.md: one year, sub-domains
    assert set(policy) <= {"max-age", "includesubdomains"}, policy  # no preload promise
    _check_headers(good)
    forged = client.get("/login", headers={"Host": "evil.example"},
                        base_url="https://evil.example")
    assert forged.status_code == 400
    _check_headers(forged)


def test_development_sends_no_hsts(client):
    """Plain-HTTP development must not pin the browser to HTTPS for a year."""
    assert "Strict-Transport-Security" not in client.get("/login").headers


def _cookie_flags(header: str) -> tuple[str, dict[str, str]]:
    """A Set-Cookie header's name and its attributes (lower-cased names)."""
    first, *attributes = [part.strip() for part in header.split(";")]
    flags = {}
    for attribute in attributes:
        key, _, value = attribute.partition("=")
        flags[key.lower()] = value
    return first.split("=", 1)[0], flags


def _assert_all_hardened(headers: list[str]) -> set[str]:
    names = set()
    for header in headers:
        name, flags = _cookie_flags(header)
        names.add(name)
        assert "secure" in flags, header
        assert "httponly" in flags, header
        assert flags.get("samesite") == "Lax", header
    return names


def test_production_cookies_are_secure_httponly_samesite(production_app):
    client = production_app.test_client()
    response = client.get("/login", base_url="https://crm.example.org")
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies, "the sign-in page set no cookie"
    assert "session" in _assert_all_hardened(cookies)


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
    names = _assert_all_hardened(response.headers.getlist("Set-Cookie"))
    assert {"session", "remember_token"} <= names, names


def test_session_lifetime_and_idle_timeout_are_configurable(monkeypatch):
    monkeypatch.setenv("SESSION_LIFETIME_HOURS", "3")
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "15")
    from config import load_config

    config = load_config("test")
    assert config.PERMANENT_SESSION_LIFETIME.total_seconds() == 3 * 3600
    assert config.SESSION_IDLE_TIMEOUT.total_seconds() == 15 * 60


def _signed_in(client) -> bool:
    response = client.get("/settings/")
    return response.status_code == 200


def test_session_lifetime_ends_the_session(app, client, make, login_as, monkeypatch):
    """PERMANENT_SESSION_LIFETIME is an absolute limit: a session kept busy is still signed
    in a minute before it, and gone a minute after — in this browser and for a copy of its
    cookie replayed by a client that ignores the cookie's expiry."""
    import time_machine

    from crm.lib import timeutil

    # keep the idle timeout out of the way: only the lifetime may end this session
    monkeypatch.setitem(app.config, "SESSION_IDLE_TIMEOUT", timedelta(days=30))
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    start = timeutil.now_utc().timestamp()
    with time_machine.travel(start, tick=False) as clock:
        login_as(make.make_user("staff"))
        copied = client.get_cookie("session").value
        clock.move_to(start + lifetime - 60)
        assert _signed_in(client), "signed out before the lifetime ended"
        clock.move_to(start + lifetime + 60)
        replay = app.test_client()  # first, before this browser's own request ends anything
        replay.set_cookie("session", copied)
        assert not _signed_in(replay), "a copy of the session cookie outlived the lifetime"
        assert not _signed_in(client), "still signed in after the lifetime"


def test_idle_session_ends(app, client, make, login_as):
    """Idle a minute less than the timeout: still signed in (and the clock restarts); idle a
    minute more: signed out."""
    import time_machine

    from crm.lib import timeutil

    idle = app.config["SESSION_IDLE_TIMEOUT"].total_seconds()
    start = timeutil.now_utc().timestamp()
    with time_machine.travel(start, tick=False) as clock:
        login_as(make.make_user("staff"))
        clock.move_to(start + idle - 60)
        assert _signed_in(client), "signed out before the idle timeout"
        clock.move_to(start + idle - 60 + idle + 60)
        assert not _signed_in(client), "still signed in after the idle timeout"
