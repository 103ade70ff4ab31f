"""HTTP helpers for tests that fill in real forms (CSRF stays on)."""

from __future__ import annotations

import re

from .factories import PASSWORD

_META = re.compile(rb'name="csrf-token" content="([^"]+)"')
_INPUT = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"|'
                    rb'type="hidden" name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token a real browser would have after loading `path`."""
    body = client.get(path).data
    match = _META.search(body) or _INPUT.search(body)
    assert match, f"no CSRF token on {path}"
    return next(g for g in match.groups() if g).decode()


def login(client, user_or_email, password: str = PASSWORD):
    email = getattr(user_or_email, "email", user_or_email)
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": token})
    assert response.status_code == 302, response.data[:500]
    return response


def post_form(client, path: str, data: dict | None = None, *, token_from: str | None = None,
              **kwargs):
    """POST `data` to `path` with a valid CSRF token fetched from `token_from` (default `/`)."""
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(client, token_from or "/"))
    return client.post(path, data=data, **kwargs)
