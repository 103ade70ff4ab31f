"""/settings/tokens: create (shown once), list, revoke — CSRF-protected and audited."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from crm.lib import timeutil
from crm.models import ApiToken, AuditEvent
from tests.support.http import post_form

TOKEN = re.compile(r'id="new-token-value"[^>]*value="(crm_[^"]+)"|value="(crm_[^"]+)"[^>]*id="new-token-value"')


def _plain(body: str) -> str:
    match = TOKEN.search(body)
    assert match, body[:2000]
    return next(g for g in match.groups() if g)


def test_create_shows_the_token_once_and_it_works(client, make, login_as, db, api):
    user = make.make_user(role="staff")
    login_as(user)
    response = post_form(client, "/settings/tokens", {"name": "reporting script"},
                         token_from="/settings/tokens")
    assert response.status_code == 201
    plain = _plain(response.get_data(as_text=True))
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert row.name == "reporting script" and row.token_hash != plain
    assert plain not in client.get("/settings/tokens").get_data(as_text=True)
    assert row.prefix in client.get("/settings/tokens").get_data(as_text=True)
    assert api.get("/me", plain).get_json()["email"] == user.email
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "token.create"))


def test_session_cookie_alone_does_not_authenticate_the_api(client, make, login_as, api):
    login_as(make.make_user(role="admin"))
    assert api.get("/me").status_code == 401
    assert api.post("/partners", json={"name": "X", "sector": "media",
                                       "country": "FR"}).status_code == 401


def test_expiry_is_validated_and_stored(client, make, login_as, db):
    user = make.make_user(role="staff")
    login_as(user)
    today = timeutil.now_utc().date()
    bad = post_form(client, "/settings/tokens", {"name": "x", "expires_on": today.isoformat()},
                    token_from="/settings/tokens")
    assert bad.status_code == 422 and "after today" in bad.get_data(as_text=True)
    good = post_form(client, "/settings/tokens",
                     {"name": "x", "expires_on": (today + timedelta(days=3)).isoformat()},
                     token_from="/settings/tokens")
    assert good.status_code == 201
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert row.expires_at > timeutil.now_utc() + timedelta(days=2)


def test_create_without_csrf_is_refused(client, make, login_as, db):
    user = make.make_user(role="staff")
    login_as(user)
    response = client.post("/settings/tokens", data={"name": "x"})
    assert response.status_code == 400
    assert db.session.scalar(select(ApiToken)) is None


def test_revoke_stops_the_token_at_once_and_is_audited(client, make, login_as, db, api,
                                                        token_for):
    user = make.make_user(role="staff")
    plain = token_for(user)
    assert api.get("/me", plain).status_code == 200
    row = db.session.scalar(select(ApiToken))
    login_as(user)
    response = post_form(client, f"/settings/tokens/{row.id}/revoke",
                         token_from="/settings/tokens")
    assert response.status_code == 302
    assert api.get("/me", plain).status_code == 401
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "token.revoke"))


def test_cannot_revoke_someone_elses_token(client, make, login_as, db, token_for, api):
    owner = make.make_user(role="staff")
    plain = token_for(owner)
    row = db.session.scalar(select(ApiToken))
    login_as(make.make_user(role="admin"))
    response = post_form(client, f"/settings/tokens/{row.id}/revoke",
                         token_from="/settings/tokens")
    assert response.status_code == 404
    assert api.get("/me", plain).status_code == 200
