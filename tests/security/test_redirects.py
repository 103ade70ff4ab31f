"""Open redirects (ASVS V3.4 / V5 redirects): `next` never leaves the site."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from crm.blueprints.auth.views import safe_next
from tests.support.factories import PASSWORD
from tests.support.http import csrf_token

EVIL = ["//evil.example", "https://evil.example", "/\\evil.example", "javascript:alert(1)",
        "%2F%2Fevil.example", "/%2F%2Fevil.example", "\\\\evil.example", "http:/evil.example",
        "///evil.example", " //evil.example", "/\t/evil.example", "https:evil.example",
        "//evil.example/%2e%2e", "data:text/html,<script>alert(1)</script>"]


@pytest.mark.parametrize("target", EVIL)
def test_login_next_never_leaves_the_site(db, client, make, target):
    user = make.make_user("staff")
    db.session.commit()
    response = client.post(f"/login?next={target}", data={
        "email": user.email, "password": PASSWORD, "next": target,
        "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.netloc in ("", "localhost"), response.headers["Location"]
    assert location.scheme in ("", "http")
    assert not response.headers["Location"].startswith("//")


@pytest.mark.parametrize("target", EVIL)
def test_safe_next_refuses(target):
    result = safe_next(target)
    assert result is None or (result.startswith("/") and not result.startswith("//")
                              and "evil.example" not in urlsplit(result).netloc)


def test_on_site_next_is_kept(db, client, make):
    user = make.make_user("staff")
    db.session.commit()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "next": "/partners/?stage=active",
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.headers["Location"] == "/partners/?stage=active"
