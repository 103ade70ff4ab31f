"""Forgotten passwords: one-hour, single-use links; other sessions end on reset."""

from __future__ import annotations

import time_machine
from sqlalchemy import func, select

from crm.lib import timeutil
from crm.models import Delivery, User
from crm.services import accounts
from tests.accounts.helpers import latest_email, link_path
from tests.support.http import login, post_form

NEW = "lanterns over the river delta"


def _forgot(client, email):
    return post_form(client, "/forgot-password", {"email": email}, token_from="/forgot-password")


def test_login_page_links_to_forgot_password(client):
    assert b'href="/forgot-password"' in client.get("/login").data


def test_reset_flow_changes_password_and_ends_other_sessions(app, db, client, make):
    user = make.make_user("staff")
    db.session.commit()
    other = app.test_client()
    login(other, user)
    response = _forgot(client, user.email.upper())
    assert response.status_code == 200 and b"Check your email" in response.data
    path = link_path(latest_email(app, "password_reset"))
    assert path.startswith("/reset-password/")
    mismatch = post_form(client, path, {"password": NEW, "confirm": NEW + "x"}, token_from=path)
    assert mismatch.status_code == 200 and b"The passwords differ" in mismatch.data
    done = post_form(client, path, {"password": NEW, "confirm": NEW}, token_from=path)
    assert done.status_code == 302
    assert other.get("/settings/").status_code == 302  # the other session is over
    assert client.get("/settings/").status_code == 200  # this one is signed in afresh
    assert client.get(path).status_code == 400  # single use
    fresh = app.test_client()
    login(fresh, user, NEW)


def test_reset_link_expires_after_one_hour(app, db, client, make):
    user = make.make_user("staff")
    db.session.commit()
    start = timeutil.now_utc().timestamp()
    _forgot(client, user.email)
    with time_machine.travel(start, tick=False):
        path = link_path(latest_email(app, "password_reset"))
    with time_machine.travel(start + 59 * 60):
        assert client.get(path).status_code == 200
    with time_machine.travel(start + 61 * 60):
        assert client.get(path).status_code == 400


def test_repeated_requests_queue_one_email_and_unknown_queue_none(db, client, make):
    user = make.make_user("staff")
    make.make_user("staff", email="gone@example.org", active=False)
    db.session.commit()
    for _ in range(3):
        _forgot(client, user.email)
    _forgot(client, "nobody@example.org")
    _forgot(client, "gone@example.org")
    kinds = db.session.execute(select(Delivery.recipient_id, func.count())
                               .group_by(Delivery.recipient_id)).all()
    assert kinds == [(user.id, 1)]


def test_reset_for_a_deactivated_user_is_not_sent(app, db, make):
    user = make.make_user("staff")
    ids = accounts.request_password_reset(user.email)
    user.active = False
    db.session.commit()
    assert ids and latest_email(app, "password_reset") is None


def test_forgot_password_is_rate_limited(client, make, db):
    make.make_user("staff")
    db.session.commit()
    statuses = [_forgot(client, "someone@example.org").status_code for _ in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[-1] == 429


def test_stored_hash_after_reset_is_argon2id(app, db, client, make):
    user = make.make_user("staff")
    db.session.commit()
    _forgot(client, user.email)
    path = link_path(latest_email(app, "password_reset"))
    post_form(client, path, {"password": NEW, "confirm": NEW}, token_from=path)
    assert db.session.scalar(select(User.password_hash).where(User.id == user.id)) \
        .startswith("$argon2id$")
