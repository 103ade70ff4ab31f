"""Stored XSS (ASVS V1.2.1 output encoding): a script payload in every text field is shown
escaped on every page that shows it."""

from __future__ import annotations

import pytest

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;"


@pytest.fixture
def stored(db, make):
    admin = make.make_user("admin", name=f"Admin {PAYLOAD}")
    staff = make.make_user("staff", name=f"Staff {PAYLOAD}", region_scope=None)
    partner = make.make_partner(owner=admin, name=f"Org {PAYLOAD}", description=PAYLOAD,
                                website="https://example.org/" + PAYLOAD, tags=["tag<b>x</b>"])
    contact = make.make_contact(partner, name=f"Person {PAYLOAD}", notes=PAYLOAD, title=PAYLOAD)
    interaction = make.make_interaction(partner, logged_by=admin, summary=PAYLOAD,
                                        outcome=PAYLOAD)
    follow_up = make.make_follow_up(partner, admin, title=f"Follow {PAYLOAD}")
    db.session.commit()
    return {"admin": admin, "staff": staff, "partner": partner, "contact": contact,
            "interaction": interaction, "follow_up": follow_up}


def _pages(app, s):
    p = s["partner"]
    candidates = [
        ("/", "dashboard.index"), ("/partners/", "partners.index"),
        (f"/partners/{p.id}", "partners.show"),
        (f"/partners/{p.id}/timeline", "partners.timeline_page"),
        (f"/partners/{p.id}/edit", "partners.edit"),
        (f"/contacts/{s['contact'].id}/edit", "contacts.edit"),
        ("/interactions/", "interactions.index"),
        (f"/interactions/{s['interaction'].id}/edit", "interactions.edit"),
        ("/follow-ups/", "followups.index"), ("/admin/users", "admin.users"),
        (f"/admin/users/{s['staff'].id}", "admin.users_edit"), ("/settings/", "settings.index"),
        ("/admin/audit", "admin.audit"), ("/reports/", "reports.index"),
    ]
    return [(path, ep) for path, ep in candidates if ep in app.view_functions]


def test_payloads_are_escaped_everywhere(app, client, login_as, stored):
    login_as(stored["admin"])
    pages = _pages(app, stored)
    assert len(pages) >= 6
    shown = 0
    for path, _ in pages:
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
        body = response.data.decode()
        assert PAYLOAD not in body, f"raw payload on {path}"
        assert "<script>alert" not in body and "onerror=alert(1)>" not in body, path
        shown += ESCAPED in body
    assert shown >= 6, "the payloads should appear (escaped) on most pages"


def test_payload_in_emails_is_escaped(app, db, stored):
    """The HTML part of an invitation to a user whose name carries the payload."""
    from crm import mail
    from crm.services.accounts import emails as account_emails
    from crm.services.deliveries import MailSettings

    user = stored["staff"]
    user.password_hash = None
    db.session.commit()
    from crm.models import Delivery

    row = Delivery(kind="invitation", dedupe_key="xss", recipient_id=user.id,
                   payload={"user_id": user.id, "invited_by": PAYLOAD})
    email = account_emails.render_invitation([row], MailSettings(
        secret_key=app.config["SECRET_KEY"], base_url="https://crm.example.org"))
    html = mail.build(email).get_body(("html",)).get_content()
    assert PAYLOAD not in html and ESCAPED in html
