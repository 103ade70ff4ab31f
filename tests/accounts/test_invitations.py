"""Invitations: an admin adds a user, who sets their own password through a one-time link."""

from __future__ import annotations

import time_machine
from sqlalchemy import select

from crm.lib import timeutil
from crm.models import AuditEvent, Delivery, User
from tests.accounts.helpers import BASE_URL, latest_email, link_path
from tests.support.http import post_form

NEW_PASSWORD = "a quiet harbour at dawn"


def _invite(client, **overrides):
    data = {"email": "new.person@example.org", "name": "New Person", "role": "staff",
            "region_scope": "", "timezone": "Europe/Paris", **overrides}
    return post_form(client, "/admin/users/new", data, token_from="/admin/users/new")


def test_admin_invites_user_who_sets_password_through_link(app, db, client, make, login_as):
    admin = make.make_user("admin")
    login_as(admin)
    response = _invite(client)
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "new.person@example.org"))
    assert user.password_hash is None and user.timezone == "Europe/Paris"
    assert db.session.scalar(select(Delivery.kind).where(Delivery.recipient_id == user.id)) \
        == "invitation"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.invite"))

    message = latest_email(app, "invitation")
    assert message["To"].endswith("<new.person@example.org>")
    assert BASE_URL in message.get_body(("html",)).get_content()
    path = link_path(message)
    assert path.startswith("/invitation/")

    client.post("/logout", data={"csrf_token": _token(client)})
    page = client.get(path)
    assert page.status_code == 200 and b"Welcome, New Person" in page.data
    weak = post_form(client, path, {"password": "password1234", "confirm": "password1234"},
                     token_from=path)
    assert weak.status_code == 422 and b"commonly used" in weak.data
    ok = post_form(client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                   token_from=path)
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash.startswith("$argon2id$")
    assert client.get("/settings/").status_code == 200  # signed in as the new user

    again = client.get(path)
    assert again.status_code == 400 and b"cannot be used" in again.data


def _token(client):
    from tests.support.http import csrf_token

    return csrf_token(client, "/settings/")


def test_invitation_link_expires_after_72_hours(app, db, client, make, login_as):
    login_as(make.make_user("admin"))
    _invite(client)
    with time_machine.travel(timeutil.now_utc(), tick=False):
        path = link_path(latest_email(app, "invitation"))
    visitor = app.test_client()
    with time_machine.travel(timeutil.now_utc().timestamp() + 71 * 3600):
        assert visitor.get(path).status_code == 200
    with time_machine.travel(timeutil.now_utc().timestamp() + 73 * 3600):
        response = visitor.get(path)
    assert response.status_code == 400 and b"expired" in response.data


def test_invite_rejects_duplicate_and_bad_input_beside_the_field(db, client, make, login_as):
    admin = make.make_user("admin", email="taken@example.org")
    login_as(admin)
    response = _invite(client, email="TAKEN@example.org")
    assert response.status_code == 422 and b"already exists" in response.data
    response = _invite(client, timezone="Mars/Olympus", role="emperor")
    assert response.status_code == 422
    assert b"Not a valid choice" in response.data
    assert db.session.scalar(select(User).where(User.email == "new.person@example.org")) is None


def test_only_admins_reach_user_administration(db, client, make, login_as):
    login_as(make.make_user("manager"))
    assert client.get("/admin/users").status_code == 403
    assert _invite(client).status_code in (400, 403)
    events = db.session.scalars(select(AuditEvent.action)).all()
    assert "authz.forbidden" in events


def test_user_list_filters_and_paginates_in_constant_queries(db, client, make, login_as,
                                                             count_queries):
    login_as(make.make_user("admin", name="Ada Admin"))
    make.make_user("manager", name="Mona Manager", region_scope="Asia")
    for _ in range(5):
        make.make_user("staff")
    db.session.commit()
    page = client.get("/admin/users?role=manager")
    assert b">Mona Manager</a>" in page.data and b">Ada Admin</a>" not in page.data
    assert b"Mona Manager" in client.get("/admin/users?region=Asia&q=mona").data
    with count_queries() as small:
        client.get("/admin/users")
    for _ in range(40):
        make.make_user("staff")
    db.session.commit()
    with count_queries() as large:
        body = client.get("/admin/users").data
    assert b"Page 1 of 2" in body
    assert large.count == small.count
