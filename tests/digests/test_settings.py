"""Preferences page, preview, and the one-click unsubscribe link (works once, audited)."""

from __future__ import annotations

import re

from sqlalchemy import select

from crm import mail
from crm.models import AuditEvent, User
from crm.services import digests
from tests.digests import dataset as ds
from tests.support.http import post_form


def _events(db, action):
    db.session.expire_all()
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_preferences_form_saves_daily_weekly_off_and_audits(app, db, make, client, login_as):
    user = make.make_user(timezone="Europe/Paris")
    login_as(user)
    page = client.get("/settings/digest")
    assert page.status_code == 200 and b"Your next digest" in page.data
    r = post_form(client, "/settings/digest", {"frequency": "daily", "weekday": "0",
                                               "hour": "7", "always": "y"},
                  token_from="/settings/digest")
    assert r.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.digest_frequency, user.digest_hour, user.digest_always) == ("daily", 7, True)
    [event] = _events(db, "user.digest_preferences")
    assert event.changes == {"digest_frequency": ["weekly", "daily"], "digest_hour": [8, 7],
                             "digest_always": [False, True]}
    post_form(client, "/settings/digest", {"frequency": "weekly", "weekday": "4", "hour": "9"},
              token_from="/settings/digest")
    db.session.expire_all()
    assert digests.period_for(db.session.get(User, user.id), ds.NOW).end.weekday() == 4
    post_form(client, "/settings/digest", {"frequency": "off", "weekday": "4", "hour": "9"},
              token_from="/settings/digest")
    db.session.expire_all()
    assert db.session.get(User, user.id).digest_frequency == "off"
    assert user.id not in {d.user_id for d in digests.due_digests(ds.NOW)}
    assert b"Digests are <strong>off</strong>" in client.get("/settings/digest").data


def test_bad_preferences_are_refused_beside_the_field(app, db, make, client, login_as):
    user = make.make_user()
    login_as(user)
    r = post_form(client, "/settings/digest", {"frequency": "hourly", "weekday": "9",
                                               "hour": "25"}, token_from="/settings/digest")
    assert r.status_code == 422
    assert r.data.count(b"invalid-feedback") >= 3
    db.session.expire_all()
    assert db.session.get(User, user.id).digest_frequency == "weekly"


def test_preview_shows_html_and_text_for_me_and_admins_for_anyone(app, db, client, login_as):
    net = ds.build()
    login_as(net.alice)
    page = client.get("/settings/digest/preview")
    assert page.status_code == 200
    assert b"srcdoc=" in page.data and b"YOUR PARTNERS" in page.data
    assert b"List-Unsubscribe=One-Click" in page.data
    for secret in ds.SECRETS:
        assert secret.encode() not in page.data
    assert client.get(f"/settings/digest/preview?user_id={net.mona.id}").status_code == 404
    admin = app.test_client()
    _login(admin, net.ada)
    other = admin.get(f"/settings/digest/preview?user_id={net.vic.id}")
    assert other.status_code == 200
    assert b"Digest preview for Vic Viewer" in other.data
    assert b"would not be sent now (empty digest)" in other.data


def _login(client, user):
    from tests.support.http import login

    return login(client, user)


def _unsubscribe_url(app, user) -> str:
    data = digests.DigestData(user.id, user.name, user.role, "weekly", "UTC", ds.START, ds.END)
    email = digests.build_email(user, data, secret_key=app.config["SECRET_KEY"],
                                base_url="http://localhost")
    header = mail.build(email)["List-Unsubscribe"]
    return re.match(r"<http://localhost(/\S+)>", header).group(1)


def test_one_click_unsubscribe_works_once_without_login_or_csrf(app, db, make, client):
    user = make.make_user()
    db.session.commit()
    path = _unsubscribe_url(app, user)
    confirm = client.get(path)  # a link scanner's GET changes nothing
    assert confirm.status_code == 200 and b"Stop sending engagement digests" in confirm.data
    db.session.expire_all()
    assert db.session.get(User, user.id).digest_frequency == "weekly"
    r = client.post(path, data={"List-Unsubscribe": "One-Click"})  # RFC 8058 body
    assert r.status_code == 200 and b"will no longer receive digests" in r.data
    db.session.expire_all()
    assert db.session.get(User, user.id).digest_frequency == "off"
    [event] = _events(db, "user.digest_unsubscribe")
    assert event.actor_id == user.id and event.changes == {"digest_frequency": ["weekly", "off"]}
    again = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 400 and b"already been used" in again.data
    assert client.get(path).status_code == 400
    assert len(_events(db, "user.digest_unsubscribe")) == 1


def test_tampered_or_expired_unsubscribe_links_are_refused(app, db, make, client, monkeypatch):
    user = make.make_user()
    db.session.commit()
    path = _unsubscribe_url(app, user)
    assert client.post(path[:-3] + "abc").status_code == 400
    monkeypatch.setattr(digests.preferences, "UNSUBSCRIBE_MAX_AGE", -1)
    r = client.post(path)
    assert r.status_code == 400 and b"expired" in r.data
    db.session.expire_all()
    assert db.session.get(User, user.id).digest_frequency == "weekly"


def test_preview_frame_is_sandboxed_and_its_links_open_a_new_tab(app, db, client, login_as):
    """A link clicked inside the preview must not load the app in the frame (which the
    page's own X-Frame-Options would refuse, showing a broken frame)."""
    from html.parser import HTMLParser

    class Frames(HTMLParser):
        def __init__(self):
            super().__init__()
            self.found: list[dict] = []

        def handle_starttag(self, tag, attrs):
            if tag == "iframe":
                self.found.append(dict(attrs))

    net = ds.build()
    login_as(net.alice)
    page = client.get("/settings/digest/preview")
    assert page.headers["X-Frame-Options"].upper() == "DENY"
    parser = Frames()
    parser.feed(page.get_data(as_text=True))
    [frame] = parser.found
    assert "src" not in frame
    sandbox = set(frame["sandbox"].split())
    assert {"allow-popups", "allow-popups-to-escape-sandbox"} <= sandbox
    assert not sandbox & {"allow-scripts", "allow-same-origin", "allow-top-navigation"}
    assert frame["srcdoc"].startswith('<base target="_blank">')
    assert "Unsubscribe from digests" in frame["srcdoc"]
