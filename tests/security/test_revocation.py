"""Deactivated users and revoked tokens are refused at once (ASVS V7.4, V8.2)."""

from __future__ import annotations

import pytest

from crm.services import accounts
from crm.services.accounts import tokens
from tests.support.http import login


@pytest.fixture(autouse=True)
def _fresh_globals(client):
    """Every `app.test_client()` here is a browser of its own: its requests start with an
    empty `g`, so neither Flask-Login's cached user nor Flask-WTF's token of an earlier
    request (another actor's, in the app context the tests share) can answer for it
    (tests/conftest.py `_FreshGlobalsClient`). Test order no longer matters."""


def _me(client, plain):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})


def _signed_in(client) -> bool:
    response = client.get("/settings/")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def _copy_of(app, browser):
    """A fresh browser holding a copy of `browser`'s session cookie (and nothing else)."""
    copy = app.test_client()
    copy.set_cookie("session", browser.get_cookie("session").value)
    return copy


def test_an_earlier_requests_user_never_answers_for_the_next_browser(app, db, make):
    """The cached user of one browser's request is not the next browser's (whatever ran
    before in the shared app context)."""
    admin = make.make_user("admin")
    db.session.commit()
    admin_browser = app.test_client()
    login(admin_browser, admin)
    assert admin_browser.get("/admin/users").status_code == 200
    stranger = app.test_client()
    assert not _signed_in(stranger)
    assert stranger.get("/admin/users").status_code == 302


def test_deactivated_user_loses_web_session_and_api_at_once(app, db, make):
    admin = make.make_user("admin")
    user = make.make_user("staff")
    _, plain = tokens.create_token(user, "script")
    db.session.commit()
    web = app.test_client()
    login(web, user)
    api = app.test_client()
    assert _me(api, plain).status_code == 200
    assert _signed_in(web) and _signed_in(_copy_of(app, web))
    colleague = app.test_client()
    login(colleague, make.make_user("staff"))
    accounts.update_user(admin, user, {"active": False})
    db.session.commit()
    # the very next request of each: the reused clients, and fresh ones
    assert _me(api, plain).status_code == 401
    assert _me(app.test_client(), plain).status_code == 401
    assert not _signed_in(_copy_of(app, web))  # first: before `web` itself ends anything
    assert not _signed_in(web)
    assert _signed_in(colleague)  # others are untouched


def test_revoked_token_is_refused_at_once(app, db, make):
    user = make.make_user("staff")
    token, plain = tokens.create_token(user, "script")
    db.session.commit()
    api = app.test_client()
    assert _me(api, plain).status_code == 200
    tokens.revoke(token, actor=user)
    db.session.commit()
    assert _me(api, plain).status_code == 401  # the reused client
    assert _me(app.test_client(), plain).status_code == 401  # a fresh one


def test_a_token_revoked_through_the_page_is_refused_on_the_next_request(app, db, make):
    from tests.support.http import post_form

    user = make.make_user("staff")
    token, plain = tokens.create_token(user, "script")
    db.session.commit()
    api, browser = app.test_client(), app.test_client()
    assert _me(api, plain).status_code == 200
    login(browser, user)
    response = post_form(browser, f"/settings/tokens/{token.id}/revoke",
                         token_from="/settings/tokens")
    assert response.status_code in (302, 303), response.status_code
    assert _me(api, plain).status_code == 401
    assert _me(app.test_client(), plain).status_code == 401


# --- issue 12 §1: sign-out signs out, remember cookies included -------------------------

REMEMBER = "remember_token"


def _remembered_login(app, user):
    """Sign in with "Remember me" through the real form; the client and its cookie value."""
    from tests.support.factories import PASSWORD
    from tests.support.http import csrf_token

    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "remember": "y",
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302, response.data[:300]
    cookie = client.get_cookie(REMEMBER)
    assert cookie is not None and cookie.value
    return client, cookie.value


def _with_only(app, remember_value: str):
    """A browser holding nothing but a copy of the remember cookie."""
    thief = app.test_client()
    thief.set_cookie(REMEMBER, remember_value)
    return thief


def _sign_out(client):
    from tests.support.http import post_form

    return post_form(client, "/logout", token_from="/settings/")


def test_a_remember_cookie_alone_signs_in_until_sign_out(app, db, make):
    user = make.make_user("staff")
    db.session.commit()
    browser, value = _remembered_login(app, user)
    assert _with_only(app, value).get("/partners/").status_code == 200  # it does work
    response = _sign_out(browser)
    assert response.status_code == 302
    deleted = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(REMEMBER + "=")]
    assert deleted and "Expires=Thu, 01 Jan 1970" in deleted[0]
    assert browser.get_cookie(REMEMBER) is None
    # a copy taken before sign-out is dead server-side
    stolen = _with_only(app, value).get("/partners/")
    assert stolen.status_code == 302 and "/login" in stolen.headers["Location"]


def test_a_copied_session_cookie_dies_at_sign_out(app, db, make, client):
    from tests.support.http import login

    user = make.make_user("staff")
    db.session.commit()
    login(client, user)
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert copy.get("/settings/").status_code == 200
    _sign_out(client)
    assert copy.get("/settings/").status_code == 302


def test_signing_out_one_browser_leaves_the_others_signed_in(app, db, make):
    from tests.support.http import login

    user = make.make_user("staff")
    db.session.commit()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user)
    login(phone, user)
    _sign_out(laptop)
    assert laptop.get("/settings/").status_code == 302
    assert phone.get("/settings/").status_code == 200


def test_the_idle_timeout_ends_the_remembered_sign_in(app, db, make):
    import time_machine

    from crm.lib import timeutil

    user = make.make_user("staff")
    db.session.commit()
    browser, value = _remembered_login(app, user)
    idle = app.config["SESSION_IDLE_TIMEOUT"].total_seconds()
    with time_machine.travel(timeutil.now_utc().timestamp() + idle + 60):
        response = browser.get("/partners/")
        assert response.status_code == 302
        assert browser.get_cookie(REMEMBER) is None
        assert _with_only(app, value).get("/partners/").status_code == 302


def test_a_remember_cookie_revives_nothing_after_the_idle_time(app, db, make):
    """Even with the session cookie gone, the server's own idle clock refuses the cookie."""
    import time_machine

    from crm.lib import timeutil

    user = make.make_user("staff")
    db.session.commit()
    _browser, value = _remembered_login(app, user)
    idle = app.config["SESSION_IDLE_TIMEOUT"].total_seconds()
    with time_machine.travel(timeutil.now_utc().timestamp() + 60):
        assert _with_only(app, value).get("/partners/").status_code == 200
    with time_machine.travel(timeutil.now_utc().timestamp() + 2 * idle + 600):
        assert _with_only(app, value).get("/partners/").status_code == 302


def test_a_remember_cookie_dies_at_password_change_and_deactivation(app, db, make):
    admin = make.make_user("admin")
    user = make.make_user("staff")
    other = make.make_user("staff")
    db.session.commit()
    _browser, value = _remembered_login(app, user)
    accounts.set_password(user, "a brand new passphrase here", actor=user,
                          action="user.password_change")
    db.session.commit()
    assert _with_only(app, value).get("/partners/").status_code == 302
    _browser, value = _remembered_login(app, other)
    accounts.update_user(admin, other, {"active": False})
    accounts.update_user(admin, other, {"active": True})
    db.session.commit()
    assert _with_only(app, value).get("/partners/").status_code == 302  # not revived


def test_remember_cookie_lasts_the_configured_duration(app, db, make, monkeypatch):
    from datetime import timedelta

    from config import load_config

    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=14)
    monkeypatch.setenv("REMEMBER_COOKIE_DAYS", "3")
    configured = load_config("test")
    assert configured.REMEMBER_COOKIE_DURATION.days == 3
    user = make.make_user("staff")
    db.session.commit()
    from tests.support.factories import PASSWORD
    from tests.support.http import csrf_token

    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "remember": "y",
                                           "csrf_token": csrf_token(client, "/login")})
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith(REMEMBER + "="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    from email.utils import parsedate_to_datetime

    from crm.lib import timeutil

    expires = parsedate_to_datetime(cookie.split("Expires=")[1].split(";")[0])
    days = (expires - timeutil.now_utc()).total_seconds() / 86400
    assert 13.9 < days <= 14.01


# --- issue 12 §5: a password change or reset revokes the API tokens --------------------

def test_password_change_revokes_api_tokens(app, db, make, client, login_as):
    from tests.support.factories import PASSWORD
    from tests.support.http import post_form

    user = make.make_user("staff")
    _, plain = tokens.create_token(user, "script")
    login_as(user)
    api = app.test_client()
    assert _me(api, plain).status_code == 200
    new = "a brand new passphrase here"
    response = post_form(client, "/settings/password",
                         {"current_password": PASSWORD, "new_password": new, "confirm": new},
                         token_from="/settings/")
    assert response.status_code == 302, response.data[:500]
    assert _me(api, plain).status_code == 401
    assert client.get("/settings/").status_code == 200  # this browser stays signed in


def test_password_reset_revokes_api_tokens(app, db, make, client):
    from tests.accounts.helpers import latest_email, link_path
    from tests.support.http import post_form

    user = make.make_user("staff")
    _, plain = tokens.create_token(user, "script")
    db.session.commit()
    api = app.test_client()
    assert _me(api, plain).status_code == 200
    post_form(client, "/forgot-password", {"email": user.email}, token_from="/forgot-password")
    path = link_path(latest_email(app, "password_reset"))
    new = "lanterns over the river delta"
    done = post_form(client, path, {"password": new, "confirm": new}, token_from=path)
    assert done.status_code == 302
    assert _me(api, plain).status_code == 401
