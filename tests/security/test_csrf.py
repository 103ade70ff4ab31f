"""CSRF (ASVS V3.5.1): every state-changing route outside the token-authenticated API and
the RFC 8058 one-click unsubscribe refuses a request without the CSRF token."""

from __future__ import annotations

import pytest

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


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "admin"])
def test_every_state_changing_route_rejects_a_missing_token(app, db, client, make, login_as,
                                                            signed_in):
    if signed_in:
        login_as(make.make_user("admin"))
    failures = []
    for method, url, endpoint in _targets(app):
        response = client.open(url, method=method, data={"name": "x", "email": "a@b.example"})
        if response.status_code != 400:
            failures.append(f"{method} {url} ({endpoint}) answered {response.status_code}")
    assert not failures, "\n".join(failures)


def test_a_wrong_token_is_rejected_too(client, make, login_as):
    login_as(make.make_user("staff"))
    response = client.post("/settings/profile", data={"name": "x", "timezone": "UTC",
                                                      "csrf_token": "forged"})
    assert response.status_code == 400
