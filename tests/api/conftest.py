"""API test helpers: a token per user and a JSON client that sends it."""

from __future__ import annotations

import json as jsonlib
from collections import Counter

import pytest


class ApiClient:
    """`api.get(path, token)`, `api.post(path, token, json=...)` → the test response."""

    def __init__(self, client) -> None:
        self.client = client

    def call(self, method: str, path: str, token: str | None = None, *, json=None,
             headers: dict | None = None, **kwargs):
        headers = dict(headers or {})
        if token:
            headers.setdefault("Authorization", f"Bearer {token}")
        if json is not None:
            kwargs["data"] = jsonlib.dumps(json)
            kwargs.setdefault("content_type", "application/json")
        url = path if path.startswith("/api") else "/api/v1" + path
        return self.client.open(url, method=method, headers=headers, **kwargs)

    def get(self, path, token=None, **kw):
        return self.call("GET", path, token, **kw)

    def post(self, path, token=None, **kw):
        return self.call("POST", path, token, **kw)

    def patch(self, path, token=None, **kw):
        return self.call("PATCH", path, token, **kw)

    def delete(self, path, token=None, **kw):
        return self.call("DELETE", path, token, **kw)


@pytest.fixture
def api(client):
    return ApiClient(client)


@pytest.fixture
def token_for(db):
    """`token_for(user)` → a fresh plain API token (committed)."""
    from crm.services.accounts import tokens

    def _make(user, **kwargs):
        _row, plain = tokens.create_token(user, kwargs.pop("name", "test"), **kwargs)
        db.session.commit()
        return plain

    return _make


def assert_error(response, status: int, code: str):
    """The error envelope with `status` and lower-case `code`."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["fields"], dict)
    return body["error"]


#: (operation, status) of every Schemathesis case run in this session (reported at the end)
SCHEMATHESIS_CASES: list[tuple[str, int]] = []


def pytest_terminal_summary(terminalreporter):
    if SCHEMATHESIS_CASES:
        operations = len({label for label, _status in SCHEMATHESIS_CASES})
        statuses = Counter(status for _label, status in SCHEMATHESIS_CASES)
        terminalreporter.write_line(
            f"Schemathesis: {len(SCHEMATHESIS_CASES)} cases ran across {operations} operations "
            f"(statuses: {', '.join(f'{k}×{v}' for k, v in sorted(statuses.items()))})")
