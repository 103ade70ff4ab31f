"""CSRF (ASVS V3.5.1): every state-changing route outside the token-authenticated API and
the RFC 8058 one-click unsubscribe refuses a request without the CSRF token."""

from __future__ import annotations

import re

import pytest

from tests.support import snapshot
from tests.support.http import csrf_token

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
#: token-authenticated (no cookies) or one-click by standard, and why
EXEMPT_PREFIXES = ("/api/",)
EXEMPT_ENDPOINTS = {"settings.digest_unsubscribe"}  # RFC 8058 one-click: signed link, no cookie


def _sample_url(rule) -> str:
    values = {}
    for arg, converter in rule._converters.items():
        kind = type(converter).__name__
        values[arg] = 1 if kind in ("IntegerConverter", "NumberConverter") else "x"
    return rule.build(values, append_unknown=False)[1]


def _targets(app):
    for rule in app.url_map.iter_rules():
        methods = (rule.methods or set()) & STATE_CHANGING
        if not methods or rule.rule.startswith(EXEMPT_PREFIXES):
            continue
        if rule.endpoint in EXEMPT_ENDPOINTS:
            continue
        for method in sorted(methods):
            yield method, _sample_url(rule), rule.endpoint


def test_the_route_list_is_not_empty(app):
    endpoints = {endpoint for _, _, endpoint in _targets(app)}
    assert {"auth.login", "auth.logout", "admin.users_edit", "settings.change_password",
            "auth.forgot_password", "auth.reset_password"} <= endpoints


#: how Flask-WTF words its refusals (shown on the 400 page)
CSRF_MISSING = re.compile(r"The CSRF (session )?token is missing")
CSRF_INVALID = re.compile(r"The CSRF (session )?token is (invalid|missing)|"
                          r"The CSRF tokens do not match")


def _is_csrf_refusal(response, pattern) -> bool:
    return response.status_code == 400 and bool(pattern.search(response.get_data(as_text=True)))


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "admin"])
def test_every_state_changing_route_refuses_a_missing_token_as_csrf(app, db, client, make,
                                                                     login_as, signed_in):
    if signed_in:
        login_as(make.make_user("admin"))
    else:
        client.get("/login")  # a session exists, as for a visitor who saw the form
    failures = []
    before = snapshot.take(db)
    for method, url, endpoint in _targets(app):
        response = client.open(url, method=method, data={"name": "x", "email": "a@b.example"})
        if not _is_csrf_refusal(response, CSRF_MISSING):
            failures.append(f"{method} {url} ({endpoint}) answered {response.status_code} "
                            "without naming the missing CSRF token")
    assert not failures, "\n".join(failures)
    assert not snapshot.changes(before, snapshot.take(db)), "a refused request wrote"


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "admin"])
def test_a_valid_token_passes_the_check_on_every_route(app, db, client, make, login_as,
                                                       signed_in):
    """The refusal above is the token's doing: the same requests with the token get past it
    (to the view's own answer: a form error, a redirect, a refused sign-in …)."""
    if signed_in:
        login_as(make.make_user("admin"))
    token = csrf_token(client, "/" if signed_in else "/login")
    failures = []
    # signing out last: it ends the session the others use
    for method, url, endpoint in sorted(_targets(app), key=lambda t: t[2] == "auth.logout"):
        response = client.open(url, method=method, data={"csrf_token": token})
        if "CSRF" in response.get_data(as_text=True) or response.status_code >= 500:
            failures.append(f"{method} {url} ({endpoint}) refused a valid token "
                            f"({response.status_code})")
    assert not failures, "\n".join(failures)


def test_a_wrong_token_is_refused_as_csrf(client, make, login_as):
    user = make.make_user("staff", name="Before")
    login_as(user)
    response = client.post("/settings/profile", data={"name": "After", "timezone": "UTC",
                                                      "csrf_token": "forged"})
    assert _is_csrf_refusal(response, CSRF_INVALID), response.get_data(as_text=True)[:500]
    valid = client.post("/settings/profile", data={"name": "After", "timezone": "UTC",
                                                   "csrf_token": csrf_token(client, "/")})
    assert valid.status_code == 302


def test_another_sessions_token_is_refused(app, db, make, login_as, client):
    """A token is bound to its session: one taken from another browser is refused."""
    other = app.test_client()
    stolen = csrf_token(other, "/login")
    login_as(make.make_user("staff"))
    response = client.post("/settings/profile", data={"name": "x", "timezone": "UTC",
                                                      "csrf_token": stolen})
    assert _is_csrf_refusal(response, CSRF_INVALID), response.get_data(as_text=True)[:500]
