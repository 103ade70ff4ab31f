"""Issue 12 §5 and §7: credentials. Creating an API token needs a recent password; wrong
second-factor codes are counted per account (lockout + email to the owner); limits key on
the real client behind TRUSTED_PROXIES; with Redis down the sign-in limits still hold (per
process, in memory); the dev outbox is for admins, in development only."""

from __future__ import annotations

from contextlib import suppress

import pyotp
import pytest
import time_machine
from sqlalchemy import func, select

from crm.lib import timeutil, totp
from crm.models import ApiToken, AuditEvent, Delivery, User
from crm.services import accounts
from tests.accounts.helpers import latest_email
from tests.support.factories import PASSWORD
from tests.support.http import csrf_token, login, post_form


@pytest.fixture(autouse=True)
def _fresh_globals(client):
    """Every test client here starts its requests with an empty `g` (tests/conftest.py)."""


def _client_at(app, ip: str):
    """A browser whose requests come from `ip`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def _token_count(db, user) -> int:
    return db.session.scalar(select(func.count()).select_from(ApiToken)
                             .where(ApiToken.user_id == user.id))


# --- re-authentication before creating an API token ---------------------------------------

def test_a_token_needs_the_password_within_ten_minutes(app, db, client, make, login_as):
    user = make.make_user("staff")
    login_as(user)
    page = client.get("/settings/tokens")
    assert b'action="/settings/tokens"' in page.data  # just signed in: the form is there
    made = post_form(client, "/settings/tokens", {"name": "fresh"}, token_from="/settings/tokens")
    assert made.status_code == 201 and b"crm_" in made.data
    later = timeutil.now_utc().timestamp() + 11 * 60
    with time_machine.travel(later):
        page = client.get("/settings/tokens")
        assert b'action="/settings/tokens"' not in page.data
        assert b'id="confirm-for-token"' in page.data
        refused = post_form(client, "/settings/tokens", {"name": "stale"},
                            token_from="/settings/")
        assert refused.status_code == 303
        assert "/settings/confirm-password" in refused.headers["Location"]
        assert _token_count(db, user) == 1
        wrong = post_form(client, "/settings/confirm-password",
                          {"password": "not my password", "next": "/settings/tokens"},
                          token_from="/settings/confirm-password")
        assert wrong.status_code == 401
        ok = post_form(client, "/settings/confirm-password",
                       {"password": PASSWORD, "next": "/settings/tokens"},
                       token_from="/settings/confirm-password")
        assert ok.status_code == 303 and ok.headers["Location"].endswith("/settings/tokens")
        again = post_form(client, "/settings/tokens", {"name": "confirmed"},
                          token_from="/settings/tokens")
        assert again.status_code == 201
    assert _token_count(db, user) == 2
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "auth.reauth_failed" in actions and "auth.reauthenticated" in actions


def test_a_sign_in_restored_from_the_remember_cookie_must_confirm(app, db, make):
    user = make.make_user("staff")
    db.session.commit()
    browser = app.test_client()
    browser.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y",
                                 "csrf_token": csrf_token(browser, "/login")})
    restored = app.test_client()  # the browser restarted: only the remember cookie is left
    restored.set_cookie("remember_token", browser.get_cookie("remember_token").value)
    assert restored.get("/settings/tokens").status_code == 200
    refused = post_form(restored, "/settings/tokens", {"name": "x"}, token_from="/settings/")
    assert refused.status_code == 303 and _token_count(db, user) == 0


def test_the_confirm_page_never_sends_you_off_site(client, make, login_as):
    login_as(make.make_user("staff"))
    done = post_form(client, "/settings/confirm-password",
                     {"password": PASSWORD, "next": "//evil.example/x"},
                     token_from="/settings/confirm-password")
    assert done.status_code == 303 and done.headers["Location"].endswith("/settings/")


# --- two-factor codes limited per account ---------------------------------------------------

def _enrolled(db, make):
    user = make.make_user("staff", email="owner@example.org")
    user.totp_secret = totp.new_secret()
    user.totp_enabled = True
    db.session.commit()
    return user


def _code_attempt(app, user, code: str, ip: str):
    """Password step then one code, from a browser at `ip` (a new address each time)."""
    browser = _client_at(app, ip)
    step = browser.post("/login", data={"email": user.email, "password": PASSWORD,
                                        "csrf_token": csrf_token(browser, "/login")})
    assert step.headers["Location"].endswith("/login/two-factor")
    return post_form(browser, "/login/two-factor", {"code": code},
                     token_from="/login/two-factor"), browser


def test_wrong_codes_from_many_addresses_lock_the_account_and_email_its_owner(app, db, make):
    user = _enrolled(db, make)
    limit = app.config["TWO_FACTOR_MAX_FAILURES"]
    for n in range(limit - 1):
        response, _ = _code_attempt(app, user, "000000", f"198.51.100.{n + 1}")
        assert response.status_code == 401
    response, _ = _code_attempt(app, user, "000000", "198.51.100.99")
    assert response.status_code == 429 and b"paused until" in response.data
    db.session.expire_all()
    assert accounts.two_factor_locked_until(db.session.get(User, user.id)) is not None
    # while locked even the right code is refused, from anywhere
    right = pyotp.TOTP(user.totp_secret).now()
    response, browser = _code_attempt(app, user, right, "203.0.113.7")
    assert response.status_code == 429
    assert browser.get("/settings/").status_code == 302
    # the owner is told, with the address and a way out
    assert db.session.scalar(select(func.count()).select_from(Delivery)
                             .where(Delivery.kind == "security_alert")) == 1
    message = latest_email(app, "security_alert")
    text = message.get_body(("plain",)).get_content()
    assert message["To"].endswith("owner@example.org>") or "owner@example.org" in message["To"]
    assert f"{limit} wrong two-factor codes" in text and "198.51.100.99" in text
    assert "/forgot-password" in text
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "auth.two_factor_locked")) == 1
    # after the lockout the right code works again, and the count starts over
    after = timeutil.now_utc().timestamp() + app.config["TWO_FACTOR_LOCKOUT"].total_seconds()
    with time_machine.travel(after + 90):
        code = pyotp.TOTP(user.totp_secret).now()
        response, browser = _code_attempt(app, user, code, "203.0.113.8")
        assert response.status_code == 302
        assert browser.get("/settings/").status_code == 200
    db.session.expire_all()
    assert db.session.get(User, user.id).two_factor_failures == 0


def test_a_right_code_resets_the_count(app, db, make):
    user = _enrolled(db, make)
    limit = app.config["TWO_FACTOR_MAX_FAILURES"]
    for n in range(limit - 1):
        _code_attempt(app, user, "000000", f"198.51.100.{n + 1}")
    response, _ = _code_attempt(app, user, pyotp.TOTP(user.totp_secret).now(), "198.51.100.50")
    assert response.status_code == 302
    response, _ = _code_attempt(app, user, "000000", "198.51.100.51")
    assert response.status_code == 401  # a fresh count, not a lockout
    db.session.expire_all()
    assert db.session.get(User, user.id).two_factor_failures == 1


# --- TRUSTED_PROXIES: limits key on the real client -------------------------------------

def _wrong_login(client, email: str, forwarded: str):
    return client.post("/login", headers={"X-Forwarded-For": forwarded},
                       data={"email": email, "password": "wrong password!",
                             "csrf_token": csrf_token(client, "/login")})


def _behind_proxies(app, monkeypatch, hops: int) -> None:
    from crm import register_proxy_fix

    monkeypatch.setattr(app, "wsgi_app", app.wsgi_app)  # restored after the test
    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", hops)
    register_proxy_fix(app)


def test_behind_a_trusted_proxy_limits_key_on_the_forwarded_client(app, db, make, monkeypatch):
    user = make.make_user("staff")
    db.session.commit()
    _behind_proxies(app, monkeypatch, 1)
    proxy = _client_at(app, "10.0.0.2")
    statuses = [_wrong_login(proxy, user.email, "203.0.113.10").status_code for _ in range(6)]
    assert statuses[-1] == 429
    # another client behind the same proxy is not locked out by the first
    assert _wrong_login(proxy, user.email, "203.0.113.11").status_code == 401
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
                               .order_by(AuditEvent.id.desc())).first()
    assert event.ip == "203.0.113.11"


def test_without_trusted_proxies_a_forged_header_does_not_escape_the_limit(app, db, make):
    user = make.make_user("staff")
    db.session.commit()
    assert app.config["TRUSTED_PROXIES"] == 0
    client = _client_at(app, "192.0.2.5")
    statuses = [_wrong_login(client, user.email, f"203.0.113.{n}").status_code
                for n in range(7)]
    assert statuses[5:] == [429, 429]


# --- Redis down: the limits fall back to memory instead of switching off -----------------

@pytest.fixture
def redis_down_app(app):
    """The app with its limiter storage on a closed port (Redis down)."""
    from crm import create_app
    from crm.extensions import db as _db
    from crm.extensions import limiter, rebind_limiter
    from tests.support.services import free_port

    down = create_app("test", RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")
    yield down
    with down.app_context():
        _db.session.remove()
        _db.engine.dispose()
    app.extensions["celery"].set_default()
    rebind_limiter(app)  # the shared limiter back on this app's storage
    with suppress(Exception):
        limiter.reset()


def test_with_redis_down_sign_in_and_reset_limits_still_hold(redis_down_app, db, make):
    user = make.make_user("staff")
    db.session.commit()
    client = redis_down_app.test_client()
    statuses = [client.post("/login", data={"email": user.email, "password": "wrong password!",
                                            "csrf_token": csrf_token(client, "/login")}
                            ).status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    resets = [client.post("/forgot-password", data={
        "email": user.email, "csrf_token": csrf_token(client, "/forgot-password")}).status_code
        for _ in range(6)]
    assert resets[-1] == 429
    # a right password still signs in from another address (limits are per client)
    other = _client_at(redis_down_app, "192.0.2.77")
    assert login(other, user).status_code == 302


# --- /dev/outbox: admins only, development only ----------------------------------------------

def test_dev_outbox_is_for_admins_only(app, db, make):
    staff, admin = make.make_user("staff"), make.make_user("admin")
    db.session.commit()
    as_staff, as_admin = app.test_client(), app.test_client()
    login(as_staff, staff)
    login(as_admin, admin)
    assert as_staff.get("/dev/outbox").status_code == 403
    assert b"Dev outbox" not in as_staff.get("/settings/").data
    assert as_admin.get("/dev/outbox").status_code == 200
    assert b"Dev outbox" in as_admin.get("/settings/").data
    assert app.test_client().get("/dev/outbox").status_code == 302  # signed out: sign in


def test_dev_outbox_exists_in_development_only(app, db, make, monkeypatch, production_app):
    admin = make.make_user("admin")
    db.session.commit()
    assert not any(rule.rule.startswith("/dev/") for rule in production_app.url_map.iter_rules())
    monkeypatch.setitem(app.config, "CRM_CONFIG_NAME", "staging")
    client = app.test_client()
    login(client, admin)
    assert client.get("/dev/outbox").status_code == 404
