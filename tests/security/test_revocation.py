"""Deactivated users and revoked tokens are refused at once (ASVS V7.4, V8.2)."""

from __future__ import annotations

from crm.services import accounts, tokens
from tests.support.http import login


def _me(client, plain):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})


def test_deactivated_user_loses_web_session_and_api_at_once(app, db, make):
    admin = make.make_user("admin")
    user = make.make_user("staff")
    _, plain = tokens.create_token(user, "script")
    db.session.commit()
    web = app.test_client()
    login(web, user)
    api = app.test_client()
    assert _me(api, plain).status_code == 200
    accounts.update_user(admin, user, {"active": False})
    db.session.commit()
    assert _me(api, plain).status_code == 401
    assert web.get("/settings/").status_code == 302


def test_revoked_token_is_refused_at_once(app, db, make):
    user = make.make_user("staff")
    token, plain = tokens.create_token(user, "script")
    db.session.commit()
    api = app.test_client()
    assert _me(api, plain).status_code == 200
    tokens.revoke(token, actor=user)
    db.session.commit()
    assert _me(api, plain).status_code == 401
