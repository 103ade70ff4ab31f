"""Issue 12 §8: every page reached through a link that carries a token answers with
no-store, no-referrer and noindex — valid or not, signed in or not, GET or POST.

The rule is checked on the URL map, not on a list: any route with a `token` argument must
be marked with `crm.security.token_link`, so a new emailed link is covered by default.
"""

from __future__ import annotations

import pytest

from crm.lib import links
from crm.security import TOKEN_LINK_HEADERS, is_token_link_endpoint
from crm.services import accounts, digests, reminders
from tests.support.http import login

#: what the issue names; the URL-map rule below must find at least these
EXPECTED = {"auth.accept_invitation", "auth.reset_password", "followups.email_action",
            "settings.digest_unsubscribe"}


@pytest.fixture(autouse=True)
def _fresh_globals(client):
    """Every test client here starts its requests with an empty `g` (tests/conftest.py)."""


def _token_routes(app) -> dict[str, str]:
    return {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()
            if "token" in rule.arguments}


def test_every_route_that_takes_a_token_is_marked(app):
    routes = _token_routes(app)
    assert set(routes) >= EXPECTED
    unmarked = [endpoint for endpoint in routes if not is_token_link_endpoint(app, endpoint)]
    assert not unmarked, f"routes taking a token without @token_link: {unmarked}"


def _valid_tokens(app, make, db) -> dict[str, str]:
    """A working token for each endpoint the issue names."""
    secret = app.config["SECRET_KEY"]
    invited = make.make_user("staff")
    invited.password_hash = None
    user = make.make_user("staff")
    partner = make.make_partner(owner=user)
    follow_up = make.make_follow_up(partner, user, title="Send the MoU draft")
    db.session.commit()
    return {
        "auth.accept_invitation": accounts.make_link_token(secret, accounts.INVITATION, invited),
        "auth.reset_password": accounts.make_link_token(secret, accounts.PASSWORD_RESET, user),
        "settings.digest_unsubscribe": digests.unsubscribe_token(secret, user),
        "followups.email_action": links.make(secret, reminders.LINK_PURPOSE,
                                             {"fu": follow_up.id, "uid": user.id,
                                              "action": "snooze"}),
    }


def _check(response, what: str) -> None:
    for name, value in TOKEN_LINK_HEADERS.items():
        assert response.headers.get(name) == value, (what, name, response.headers.get(name))


def test_token_links_answer_private_headers_signed_in_or_not(app, db, make):
    valid = _valid_tokens(app, make, db)
    routes = _token_routes(app)
    viewer = make.make_user("viewer")
    db.session.commit()
    signed_in = app.test_client()
    login(signed_in, viewer)
    checked = 0
    for endpoint, rule in routes.items():
        for token in (valid.get(endpoint), "not-a-valid-token"):
            if token is None:  # a future token route: the bad token still exercises it
                continue
            path = rule.replace("<token>", token)
            for label, browser in (("signed out", app.test_client()), ("signed in", signed_in)):
                page = browser.get(path)
                _check(page, f"GET {path} {label}")
                if token == valid.get(endpoint) and label == "signed out":
                    assert page.status_code == 200, (endpoint, page.status_code)
                # a POST without a CSRF token is refused (400): the refusal is private too
                _check(browser.post(path, data={}), f"POST {path} {label}")
                checked += 2
    assert checked >= len(EXPECTED) * 2 * 2 * 2


def test_other_pages_keep_the_site_referrer_policy(client):
    response = client.get("/login")
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "X-Robots-Tag" not in response.headers
