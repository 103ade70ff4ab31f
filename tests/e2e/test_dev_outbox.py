"""/dev/outbox in a real browser: the HTML part renders inside its sandboxed frame (the
page itself keeps `X-Frame-Options: DENY`), and a script in the email never runs."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import keep, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

NAME = "20250102T080000000000-00c0ffee.eml"
HTML = ('<html><body><h1 style="color:#0a5">Your follow-ups</h1>'
        '<p>Prepare the visit to Mekong</p>"><script>parent.document.title="pwned";'
        'document.body.append("script ran")</script>'
        '<a href="https://crm.example.org/follow-ups/">Open My follow-ups</a></body></html>')


@pytest.fixture(scope="module")
def admin_email(seeded, e2e_instance):
    from tests.support import factories

    admin = factories.make_user(role="admin", name="Ola Outbox", email="ola@e2e.example.org")
    seeded.session.commit()
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = "Frame check", "crm@example.org", admin.email
    msg.set_content("Prepare the visit to Mekong (plain)")
    msg.add_alternative(HTML, subtype="html")
    outbox = e2e_instance / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    (outbox / NAME).write_bytes(msg.as_bytes())
    return admin.email


def test_the_html_part_renders_in_its_frame_and_its_script_does_not_run(page, admin_email):
    sign_in(page, admin_email)
    response = page.goto(f"/dev/outbox/{NAME}")
    assert response.headers["x-frame-options"].upper() == "DENY"
    frame = page.frame_locator("iframe[title='HTML part']")
    expect(frame.get_by_role("heading", name="Your follow-ups")).to_be_visible()
    expect(frame.locator("body")).to_contain_text("Prepare the visit to Mekong")
    expect(frame.get_by_role("link", name="Open My follow-ups")).to_have_attribute(
        "href", "https://crm.example.org/follow-ups/")
    expect(frame.locator("body")).not_to_contain_text("script ran")
    assert page.title() != "pwned"
    keep(page, "dev-outbox-message")
