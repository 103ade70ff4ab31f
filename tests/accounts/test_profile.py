"""/settings: the user's own name, time zone and password."""

from __future__ import annotations

from sqlalchemy import select

from crm.models import AuditEvent
from tests.support.http import login, post_form

NEW = "seven orange kites drifting"


def test_profile_updates_name_and_zone_but_never_role(db, client, make, login_as):
    user = make.make_user("viewer")
    login_as(user)
    page = client.get("/settings/")
    assert page.status_code == 200 and b'data-searchable' in page.data
    response = post_form(client, "/settings/profile",
                         {"name": "Renamed", "timezone": "Asia/Bangkok", "role": "admin",
                          "region_scope": "Europe", "active": "y", "email": "x@evil.example"},
                         token_from="/settings/")
    assert response.status_code == 302
    db.session.expire_all()
    assert (user.name, user.timezone, user.role, user.region_scope) == \
        ("Renamed", "Asia/Bangkok", "viewer", None)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.profile"))
    assert event.changes["timezone"] == ["UTC", "Asia/Bangkok"]


def test_bad_time_zone_is_refused_beside_the_field(db, client, make, login_as):
    login_as(make.make_user("staff"))
    response = post_form(client, "/settings/profile", {"name": "X", "timezone": "Nowhere/City"},
                         token_from="/settings/")
    assert response.status_code == 422 and b"Not a valid choice" in response.data


def test_password_change_keeps_this_session_and_ends_the_others(app, db, client, make, login_as):
    user = make.make_user("staff")
    login_as(user)
    other = app.test_client()
    login(other, user)
    wrong = post_form(client, "/settings/password",
                      {"current_password": "nope", "new_password": NEW, "confirm": NEW},
                      token_from="/settings/")
    assert wrong.status_code == 422 and b"not your current password" in wrong.data
    short = post_form(client, "/settings/password",
                      {"current_password": "correct horse battery staple",
                       "new_password": "short", "confirm": "short"}, token_from="/settings/")
    assert short.status_code == 422 and b"at least 12 characters" in short.data
    ok = post_form(client, "/settings/password",
                   {"current_password": "correct horse battery staple", "new_password": NEW,
                    "confirm": NEW}, token_from="/settings/")
    assert ok.status_code == 302
    assert client.get("/settings/").status_code == 200
    assert other.get("/settings/").status_code == 302
    login(app.test_client(), user, NEW)


def test_settings_links_only_to_pages_that_exist(app, client, make, login_as):
    login_as(make.make_user("staff"))
    body = client.get("/settings/").data
    assert (b"/settings/tokens" in body) == ("settings.tokens" in app.view_functions)
    assert (b"/settings/digest" in body) == ("settings.digest" in app.view_functions)
    assert b"/settings/two-factor" in body
