"""Optional TOTP two-factor sign-in, recovery codes, and the admins' requirement."""

from __future__ import annotations

import re

import pyotp
import time_machine
from sqlalchemy import select

from crm.lib import timeutil
from crm.models import AuditEvent, User
from crm.services import accounts
from tests.support.factories import PASSWORD
from tests.support.http import csrf_token, post_form


def _enrol(client, db, user) -> list[str]:
    page = client.get("/settings/two-factor")
    assert page.status_code == 200 and b"otpauth://totp/" in page.data
    assert b"data:image/svg+xml" in page.data  # the QR code
    secret = re.search(rb'id="totp-secret">([A-Z2-7]+)<', page.data).group(1).decode()
    bad = post_form(client, "/settings/two-factor/confirm", {"code": "000000"},
                    token_from="/settings/two-factor")
    assert bad.status_code == 422
    done = post_form(client, "/settings/two-factor/confirm",
                     {"code": pyotp.TOTP(secret).now()}, token_from="/settings/two-factor")
    assert done.status_code == 200
    codes = re.findall(rb"<li>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</li>", done.data)
    assert len(codes) == 10
    db.session.expire_all()
    assert user.totp_enabled and all(h.startswith("$argon2id$") for h in user.recovery_codes)
    return [c.decode() for c in codes]


def _password_step(client, user):
    return client.post("/login", data={"email": user.email, "password": PASSWORD,
                                       "csrf_token": csrf_token(client, "/login")})


def test_enrol_then_sign_in_asks_for_the_code(app, db, client, make, login_as):
    user = make.make_user("staff")
    login_as(user)
    _enrol(client, db, user)
    fresh = app.test_client()
    step = _password_step(fresh, user)
    assert step.headers["Location"].endswith("/login/two-factor")
    assert fresh.get("/settings/").status_code == 302  # not signed in yet
    later = timeutil.now_utc().timestamp() + 90  # a code not yet used at enrolment
    with time_machine.travel(later):
        code = pyotp.TOTP(db.session.get(User, user.id).totp_secret).now()
        wrong = post_form(fresh, "/login/two-factor", {"code": "123456"},
                          token_from="/login/two-factor")
        assert wrong.status_code == 401
        ok = post_form(fresh, "/login/two-factor", {"code": code}, token_from="/login/two-factor")
        assert ok.status_code == 302
        assert fresh.get("/settings/").status_code == 200
        # the same code cannot be replayed by someone else within its window
        replay = app.test_client()
        _password_step(replay, user)
        again = post_form(replay, "/login/two-factor", {"code": code},
                          token_from="/login/two-factor")
        assert again.status_code == 401
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "auth.two_factor_failed" in actions and "user.two_factor_on" in actions


def test_recovery_code_works_once(app, db, client, make, login_as):
    user = make.make_user("staff")
    login_as(user)
    codes = _enrol(client, db, user)
    first = app.test_client()
    _password_step(first, user)
    assert post_form(first, "/login/two-factor", {"code": codes[0].upper()},
                     token_from="/login/two-factor").status_code == 302
    second = app.test_client()
    _password_step(second, user)
    assert post_form(second, "/login/two-factor", {"code": codes[0]},
                     token_from="/login/two-factor").status_code == 401
    db.session.expire_all()
    assert len(user.recovery_codes) == 9


def test_required_two_factor_sends_managers_to_enrolment(app, db, client, make, login_as):
    admin = make.make_user("admin")
    manager = make.make_user("manager")
    staff = make.make_user("staff")
    db.session.commit()
    admin_client = app.test_client()
    from tests.support.http import login

    login(admin_client, admin)
    response = post_form(admin_client, "/admin/users/two-factor-policy", {"require": "y"},
                         token_from="/admin/users")
    assert response.status_code == 302 and accounts.two_factor_required()
    # the admin has not enrolled either: every page now leads to enrolment
    assert admin_client.get("/admin/users").headers["Location"].endswith("/settings/two-factor")
    step = login_as(manager)
    assert step.headers["Location"].endswith("/settings/two-factor")
    assert client.get("/partners/").status_code == 302
    assert client.get("/settings/two-factor").status_code == 200
    staff_client = app.test_client()
    assert login(staff_client, staff).headers["Location"].endswith("/")
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "settings.require_two_factor"))
    assert event.changes == {"enabled": [False, True]}


def test_disable_needs_the_password(db, client, make, login_as):
    user = make.make_user("staff")
    login_as(user)
    _enrol(client, db, user)
    post_form(client, "/settings/two-factor/disable", {"password": "wrong"},
              token_from="/settings/two-factor")
    db.session.expire_all()
    assert user.totp_enabled
    post_form(client, "/settings/two-factor/disable", {"password": PASSWORD},
              token_from="/settings/two-factor")
    db.session.expire_all()
    assert not user.totp_enabled and user.totp_secret is None


def test_password_reset_does_not_bypass_two_factor(app, db, client, make, login_as):
    from tests.accounts.helpers import latest_email, link_path

    user = make.make_user("staff")
    login_as(user)
    _enrol(client, db, user)
    visitor = app.test_client()
    post_form(visitor, "/forgot-password", {"email": user.email}, token_from="/forgot-password")
    path = link_path(latest_email(app, "password_reset"))
    new = "winter orchard under stars"
    done = post_form(visitor, path, {"password": new, "confirm": new}, token_from=path)
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert visitor.get("/settings/").status_code == 302  # not signed in: the code is still due
    step = visitor.post("/login", data={"email": user.email, "password": new,
                                        "csrf_token": csrf_token(visitor, "/login")})
    assert step.headers["Location"].endswith("/login/two-factor")
