"""Routes and emails cannot drift: every link crm/urls.py builds matches a rule of the app's
url_map, and the endpoint it was meant for (no redirect, no 404, no other page)."""

from __future__ import annotations

import inspect
from urllib.parse import urlsplit

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.routing import RequestRedirect

from crm import urls

BASE = "https://crm.example.org/"
TOKEN = "eyJhbGciOi.abc-_123"

#: builder → (arguments after `base`, keyword arguments, the endpoint its path must reach)
CASES: dict[str, tuple[tuple, dict, str]] = {
    "home_url": ((), {}, "dashboard.index"),
    "partner_url": ((42,), {}, "partners.show"),
    "partners_url": ((), {}, "partners.index"),
    "agreement_url": ((42,), {}, "agreements.show"),
    "deliveries_admin_url": ((), {}, "admin.deliveries"),
    "follow_up_action_url": ((TOKEN,), {}, "followups.email_action"),
    "digest_preferences_url": ((), {}, "settings.digest"),
    "digest_unsubscribe_url": ((TOKEN,), {}, "settings.digest_unsubscribe"),
    "invitation_url": ((TOKEN,), {}, "auth.accept_invitation"),
    "password_reset_url": ((TOKEN,), {}, "auth.reset_password"),
    "forgot_password_url": ((), {}, "auth.forgot_password"),
}


def _builders() -> set[str]:
    return {name for name, fn in inspect.getmembers(urls, inspect.isfunction)
            if fn.__module__ == urls.__name__ and not name.startswith("_")}


def _endpoint(app, url: str) -> tuple[str, dict]:
    parts = urlsplit(url)
    adapter = app.url_map.bind(parts.netloc, url_scheme=parts.scheme)
    return adapter.match(parts.path, method="GET")


def test_every_builder_is_checked_here():
    assert _builders() == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_link_reaches_its_route(app, name):
    args, kwargs, endpoint = CASES[name]
    url = getattr(urls, name)(BASE, *args, **kwargs)
    assert url.startswith("https://crm.example.org/") and "//" not in url.removeprefix("https://")
    assert _endpoint(app, url)[0] == endpoint


def test_partner_link_keeps_the_follow_up_anchor_and_the_id(app):
    url = urls.partner_url(BASE, 7, follow_up_id=9)
    assert url == "https://crm.example.org/partners/7#follow-up-9"
    assert _endpoint(app, url) == ("partners.show", {"partner_id": 7})
    assert urls.partner_url("", 7) == "/partners/7"


def test_the_check_fails_for_a_path_no_route_has(app):
    """The matcher used above does refuse drift: a renamed page or a missing slash."""
    with pytest.raises(NotFound):
        _endpoint(app, "https://crm.example.org/partner/7")
    with pytest.raises(RequestRedirect):
        _endpoint(app, "https://crm.example.org/partners")
