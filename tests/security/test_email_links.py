"""Email links through the real delivery engine and a real SMTP server (aiosmtpd): built from
CRM_BASE_URL, never from a forged Host header (ASVS V3 host-header / V16 trust)."""

from __future__ import annotations

import re

from tasks.delivery import deliver
from tests.support.http import csrf_token
from tests.support.smtp import SmtpSink

FORGED = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}


def test_invitation_and_reset_links_ignore_a_forged_host(app, db, client, make, login_as,
                                                         monkeypatch):
    monkeypatch.setitem(app.config, "CRM_BASE_URL", "https://crm.example.org")
    admin = make.make_user("admin")
    staff = make.make_user("staff")
    login_as(admin)
    token = csrf_token(client, "/admin/users/new")
    invite = client.post("/admin/users/new",
                         data={"email": "invitee@example.org", "name": "Invitee",
                               "role": "staff", "region_scope": "", "timezone": "UTC",
                               "csrf_token": token})
    assert invite.status_code == 302, invite.data[:300]
    # the classic poisoning attempt: an attacker asks for the victim's reset with their Host
    attacker = app.test_client()
    page = attacker.get("/forgot-password", headers=FORGED)
    forged_token = re.search(rb'name="csrf-token" content="([^"]+)"', page.data).group(1)
    reset = attacker.post("/forgot-password", headers=FORGED,
                          data={"email": staff.email, "csrf_token": forged_token.decode()})
    assert reset.status_code == 200 and b"Check your email" in reset.data
    from sqlalchemy import select

    from crm.models import Delivery

    ids = list(db.session.scalars(select(Delivery.id).order_by(Delivery.id)))
    assert len(ids) == 2
    with SmtpSink() as smtp:
        monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
        monkeypatch.setitem(app.config, "SMTP_PORT", smtp.port)
        outcome = deliver(ids, app.config)
    assert sorted(outcome.sent) == ids
    assert len(smtp.messages) == 2
    paths = []
    for message in smtp.messages:
        assert message.get_body(("plain",)) and message.get_body(("html",))
        raw = message.as_string()
        assert "evil.example" not in raw
        links = re.findall(r"https?://[^\s\"<>()]+", message.get_body(("plain",)).get_content())
        assert links and all(link.startswith("https://crm.example.org") for link in links)
        action = [link for link in links if "/invitation/" in link or "/reset-password/" in link]
        paths.append(action[0].removeprefix("https://crm.example.org"))
    assert {p.split("/")[1] for p in paths} == {"invitation", "reset-password"}
    for path in paths:
        assert app.test_client().get(path).status_code == 200
