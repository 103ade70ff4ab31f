"""Signed links (ASVS V6.4 / V7): tampering, purpose confusion, reuse, and a password
change killing older links."""

from __future__ import annotations

from crm.lib import links
from crm.services import accounts
from tests.accounts.helpers import latest_email, link_path
from tests.support.http import post_form

NEW = "bright copper kettles sing"


def _reset_path(app, client, user):
    post_form(client, "/forgot-password", {"email": user.email}, token_from="/forgot-password")
    return link_path(latest_email(app, "password_reset"))


def test_tampered_links_are_refused(app, db, client, make):
    user = make.make_user("staff")
    db.session.commit()
    path = _reset_path(app, client, user)
    token = path.rsplit("/", 1)[1]
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    for bad in (flipped, token[:-5], token + "x", "not-a-token", ""):
        response = client.get(f"/reset-password/{bad}")
        assert response.status_code in (400, 404), bad
    # another key, same payload shape
    forged = links.make("another-secret", accounts.PASSWORD_RESET, {"uid": user.id, "v": 1})
    assert client.get(f"/reset-password/{forged}").status_code == 400


def test_a_reset_link_is_not_an_invitation(app, db, client, make):
    user = make.make_user("staff")
    user.password_hash = None  # invited, not yet accepted
    db.session.commit()
    token = _reset_path(app, client, user).rsplit("/", 1)[1]
    assert client.get(f"/invitation/{token}").status_code == 400


def test_link_reuse_and_post_after_use(app, db, client, make):
    user = make.make_user("staff")
    db.session.commit()
    path = _reset_path(app, client, user)
    assert post_form(client, path, {"password": NEW, "confirm": NEW},
                     token_from=path).status_code == 302
    other = app.test_client()
    assert other.get(path).status_code == 400
    # a POST straight to the spent link (no GET first) is refused as well
    from tests.support.http import csrf_token

    response = other.post(path, data={"password": NEW + "!", "confirm": NEW + "!",
                                      "csrf_token": csrf_token(other, "/login")})
    assert response.status_code == 400


def test_password_change_kills_older_links(app, db, client, make):
    user = make.make_user("staff")
    db.session.commit()
    path = _reset_path(app, client, user)
    accounts.set_password(user, NEW, actor=user, action="user.password_change")
    db.session.commit()
    assert client.get(path).status_code == 400
