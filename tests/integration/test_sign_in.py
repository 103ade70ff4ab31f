"""Sign-in: success, failure, CSRF, rate limit, safe redirects, argon2id, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.models import AuditEvent
from tests.support.factories import PASSWORD
from tests.support.http import csrf_token, login


def _post_login(client, email, password, next_=None):
    data = {"email": email, "password": password, "csrf_token": csrf_token(client, "/login")}
    if next_ is not None:
        data["next"] = next_
    return client.post("/login", data=data)


def test_sign_in_success_audits_and_shows_dashboard(client, make, db):
    user = make.make_user(name="Grace Wanjiru")
    db.session.commit()
    response = _post_login(client, user.email.upper(), PASSWORD)
    assert response.status_code == 302 and response.location == "/"
    assert "Grace Wanjiru" in client.get("/").get_data(as_text=True)
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "auth.login" in actions


def test_sign_in_failure_is_refused_and_audited(client, make, db):
    user = make.make_user()
    db.session.commit()
    response = _post_login(client, user.email, "wrong password!!")
    assert response.status_code == 401
    assert "do not match" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    failed = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).all()
    assert len(failed) == 1 and failed[0].details["email"] == user.email


def test_inactive_user_cannot_sign_in(client, make, db):
    user = make.make_user(active=False)
    db.session.commit()
    assert _post_login(client, user.email, PASSWORD).status_code == 401


def test_post_without_csrf_token_is_rejected(client, make, db):
    user = make.make_user()
    db.session.commit()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_six_failed_logins_answer_429(client, make, db):
    user = make.make_user()
    db.session.commit()
    statuses = [_post_login(client, user.email, "not the password").status_code
                for _ in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429


def test_successful_logins_do_not_use_up_the_limit(client, make, db):
    user = make.make_user()
    db.session.commit()
    for _ in range(7):
        assert _post_login(client, user.email, PASSWORD).status_code == 302
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


@pytest.mark.parametrize("target", [
    "//evil.example", "https://evil.example", "/\\evil.example", "\\\\evil.example",
    "http:/evil.example", "javascript:alert(1)", "/%0d%0aLocation: https://evil.example",
    " //evil.example",
])
def test_next_never_leaves_the_site(client, make, db, target):
    user = make.make_user()
    db.session.commit()
    response = _post_login(client, user.email, PASSWORD, next_=target)
    assert response.status_code == 302
    location = response.location
    assert location.startswith("/") and not location.startswith("//")
    assert "evil.example" not in location.split("?")[0].lstrip("/").split("/")[0] or \
        location == "/"
    assert "\\" not in location


def test_next_on_site_is_followed(client, make, db):
    user = make.make_user()
    db.session.commit()
    response = _post_login(client, user.email, PASSWORD, next_="/partners/?stage=active")
    assert response.location == "/partners/?stage=active"


def test_stored_hash_is_argon2id(app, make):
    user = make.make_user()
    assert user.password_hash.startswith("$argon2id$")


def test_logout_requires_post_and_ends_the_session(client, make, db):
    user = make.make_user()
    db.session.commit()
    login(client, user)
    assert client.get("/logout").status_code == 405
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get("/").status_code == 302
