"""The log form in a real browser: ticking a contact who asked not to be contacted shows the
note under their box at once (CSS only, no request), unticking hides it again."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import keep, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture(scope="module")
def world(seeded):
    from tests.support import factories

    staff = factories.make_user(name="Dana Staff", email="dana@e2e-dnc.example.org")
    partner = factories.make_partner(owner=staff, name="Harbour Survivors Network")
    quiet = factories.make_contact(partner, name="Quiet Advocate", do_not_contact=True)
    factories.make_contact(partner, name="Open Advocate")
    seeded.session.commit()
    return {"email": staff.email, "partner_id": partner.id, "quiet": quiet.id}


def test_ticking_a_do_not_contact_contact_shows_the_note(page, world):
    sign_in(page, world["email"])
    page.goto(f"/interactions/new?partner_id={world['partner_id']}")
    note = page.locator(f"#contact-{world['quiet']}-dnc")
    expect(page.get_by_label("Quiet Advocate (do not contact)")).to_be_visible()
    expect(note).to_be_hidden()
    page.get_by_label("Quiet Advocate (do not contact)").check()
    expect(note).to_be_visible()
    expect(note).to_contain_text("Quiet Advocate asked not to be contacted")
    page.get_by_label("Open Advocate").check()
    keep(page, "log-form-do-not-contact")
    page.get_by_label("Quiet Advocate (do not contact)").uncheck()
    expect(note).to_be_hidden()
