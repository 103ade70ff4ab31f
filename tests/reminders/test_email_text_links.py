"""Plain-text emails (issue 21, item 4): every link stands on a line of its own and works.

A link glued to the text around it ("…LMNM2. [Due today]") is copied with that text and
then fails as "This link is not valid". Every kind of email is rendered here through its
real renderer, its text part parsed, and each URL checked: alone on its line, and opening
a page of the app (signed links verified by their own pages, the rest as the recipient).
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from crm import mail
from crm.lib import timeutil
from crm.models import Delivery
from crm.services import deliveries, digests, emails
from tests.digests import dataset as ds
from tests.support.http import login

BASE = "http://localhost"
URL = re.compile(r"https?://[^\s<>\"')\]]+")
ANY_URL = re.compile(r"https?://\S+")
#: pages that prove themselves by their token: opened without signing in
TOKEN_PATHS = ("/follow-ups/email-action/", "/invitation/", "/reset-password/",
               "/settings/digest/unsubscribe/", "/forgot-password")


@pytest.fixture
def settings(app, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_BASE_URL", BASE)
    return deliveries.MailSettings(secret_key=app.config["SECRET_KEY"], base_url=BASE)


def _text(email: mail.Email) -> str:
    return mail.build(email).get_body(preferencelist=("plain",)).get_content()


def _row(kind: str, recipient, **payload) -> Delivery:
    return Delivery(kind=kind, recipient_id=recipient.id, dedupe_key=f"t:{kind}:{payload}",
                    payload=payload)


def _emails(db, make, settings) -> list[tuple[str, object, str]]:
    """(what, recipient, text part) of every kind of email the ledger sends."""
    owner = make.make_user(name="Olga Owner", timezone="Europe/Paris")
    user = make.make_user(name="Sam Staff", timezone="Pacific/Auckland")
    admin = make.make_user("admin", name="Ada Admin")
    invited = make.make_user(name="Ivy Invited")
    invited.password_hash = None
    open_partner = make.make_partner(owner=owner, name="UNICEF Thailand",
                                     collaborators=[user])
    hidden_partner = make.make_partner(owner=owner, name="Hidden Unit",
                                       sensitivity="restricted", collaborators=[user])
    now = timeutil.now_utc()
    fus = [make.make_follow_up(open_partner, user, title="Send the draft", due_at=now),
           make.make_follow_up(hidden_partner, user, title="Secret", due_at=now),
           make.make_follow_up(open_partner, user, title="Old",
                               due_at=now - timedelta(days=8))]
    db.session.commit()

    def due(fu, kind="reminder_due", to=user):
        return _row(kind, to, follow_up_id=fu.id, due_at=fu.due_at.isoformat())

    found = [
        ("reminders (a batch of two)", user,
         emails.render([due(fus[0]), due(fus[1]), due(fus[2], "reminder_overdue")],
                       settings)),
        ("reminder (one)", user, emails.render([due(fus[0])], settings)),
        ("escalations", owner, emails.render(
            [due(fus[2], "reminder_escalation", owner), due(fus[1], "reminder_escalation",
                                                            owner)], settings)),
        ("invitation", invited, emails.render(
            [_row("invitation", invited, user_id=invited.id, invited_by="Ada Admin")],
            settings)),
        ("password reset", user, emails.render(
            [_row("password_reset", user, user_id=user.id)], settings)),
        ("security alert", user, emails.render(
            [_row("security_alert", user, user_id=user.id, event="two_factor_lockout",
                  until=(now + timedelta(minutes=15)).isoformat(), failures=5,
                  ip="192.0.2.7")], settings)),
    ]
    del admin
    return [(what, to, _text(email)) for what, to, email in found]


def _digest_emails(db, settings) -> list[tuple[str, object, str]]:
    net = ds.build()
    db.session.commit()
    found = []
    for user in (net.alice, net.bob, net.mona, net.ada):
        data = digests.compile_digest(user, ds.START, ds.END, ds.NOW)
        email = digests.build_email(user, data, secret_key=settings.secret_key,
                                    base_url=BASE)
        found.append((f"digest of {user.name}", user, _text(email)))
    return found


def _check_lines(what: str, text: str) -> list[str]:
    """Every URL of `text`, each asserted to be the whole of its line."""
    urls = []
    for line in text.splitlines():
        for match in ANY_URL.finditer(line):
            assert line.strip() == match.group(0), (
                f"{what}: a link shares its line with text, so copying it copies more:\n"
                f"{line!r}")
            assert URL.fullmatch(match.group(0)), f"{what}: {match.group(0)!r}"
            urls.append(match.group(0))
    return urls


def _opens(app, browsers: dict, user, url: str) -> None:
    """GET `url` as the recipient (signed in once per person), or anonymously for a
    signed link, in a browser of its own (the `client` fixture's class)."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE, url
    adapter = app.url_map.bind("localhost")
    endpoint, _ = adapter.match(parts.path, method="GET")  # a route of the app
    if parts.path.startswith(TOKEN_PATHS) or not user.password_hash:
        client = app.test_client()  # an invitee has no password yet: anonymous
    else:
        if user.id not in browsers:
            browsers[user.id] = app.test_client()
            login(browsers[user.id], user)
        client = browsers[user.id]
    response = client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
    body = response.get_data(as_text=True)
    if response.status_code == 302 and not user.password_hash:
        assert urlsplit(response.headers["Location"]).path == "/login", url
        return
    assert response.status_code == 200, (url, endpoint, response.status_code)
    assert "This link is not valid" not in body and "has expired" not in body, url


def test_every_link_of_every_plain_text_email_stands_alone_and_opens(app, client, db, make,
                                                                      settings):
    found = _emails(db, make, settings) + _digest_emails(db, settings)
    kinds_seen: set[str] = set()
    browsers: dict = {}
    for what, user, text in found:
        urls = _check_lines(what, text)
        assert urls, f"{what}: no link at all"
        for url in urls:
            _opens(app, browsers, user, url)
            kinds_seen.add(urlsplit(url).path.split("/")[1])
    # the links that matter most were all exercised
    assert {"follow-ups", "partners", "invitation", "reset-password", "forgot-password",
            "settings"} <= kinds_seen, kinds_seen


def test_the_reported_glue_is_gone(app, db, make, settings):
    # "…LMNM2. [Due today]": the next item's number right after a link
    for what, _user, text in _emails(db, make, settings):
        assert not re.search(r"https?://\S+\d+\. \[", text), what
        assert not re.search(r"\S\(?https?://", text), what  # nothing glued before a link


def test_the_check_catches_a_glued_link():
    with pytest.raises(AssertionError, match="shares its line"):
        _check_lines("sample", "   http://localhost/partners/1#follow-up-12. [Due today]")
    with pytest.raises(AssertionError, match="shares its line"):
        _check_lines("sample", "Partner CRM (http://localhost/)")
