"""In a real browser (desktop, then the pages again at phone width): the partner page's agreements panel, a Code
membership's page (its six criteria, one updated with the keyboard only), a report recorded
in the future refused beside its field, and the new-agreement form; axe-core on each page,
no sideways scrolling."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

# the e2e server fixtures (gunicorn on a free port, this run's database)
from tests.e2e.conftest import (  # noqa: F401
    CHROMIUM,
    CHROMIUM_ARGS,
    e2e_env,
    e2e_instance,
    live_server,
    seeded,
)
from tests.e2e.helpers import keep, sign_in
from tests.partners.test_e2e_partners import (
    VIEWPORTS,
    assert_accessible,
    assert_no_overflow,
    in_browser,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture(scope="module")
def world(seeded):  # noqa: F811
    from crm.lib import timeutil
    from crm.services import agreements
    from tests.support import factories

    staff = factories.make_user(name="Ana Agreements", email="ana@e2e-agreements.example.org")
    partner = factories.make_partner(owner=staff, name="Pacific Resorts Group", country="FJ",
                                     sector="travel_tourism")
    signer = factories.make_contact(partner, name="Mere Tuilagi", title="Sustainability lead")
    today = timeutil.now_utc().date()
    code = agreements.create(staff, partner, {
        "kind": "the_code", "title": "The Code membership", "status": "active",
        "signed_on": date(2023, 5, 2), "starts_on": date(2023, 6, 1),
        "contact_ids": [signer.id], "staff_ids": [staff.id]})
    agreements.update_criterion(staff, code, 1, "met", "Policy adopted by the board")
    agreements.update_criterion(staff, code, 2, "in_progress", "Half the staff trained")
    agreements.create(staff, partner, {
        "kind": "data_sharing", "title": "Referral data sharing", "status": "active",
        "signed_on": today - timedelta(days=300), "expires_on": today + timedelta(days=20)})
    seeded.session.commit()
    return {"email": staff.email, "partner_id": partner.id, "code_id": code.id}


def test_panel_code_criteria_by_keyboard_and_report_refused(live_server, world):  # noqa: F811
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    number, size = 3, "desktop"

    def steps(page):
        sign_in(page, world["email"])
        page.goto(f"/partners/{world['partner_id']}")
        panel = page.locator("#agreements")
        expect(panel).to_contain_text("Expires in 20 days")
        expect(panel.locator('[data-badge="report_overdue"]')).to_have_count(1)
        assert_no_overflow(page)
        assert_accessible(page)
        panel.get_by_role("link", name="The Code membership").click()
        expect(page).to_have_url(re.compile(rf"/agreements/{world['code_id']}$"))
        heading = page.locator("#criteria-heading")
        met = int(re.search(r"(\d) of 6 met", heading.inner_text()).group(1))
        assert_no_overflow(page)
        assert_accessible(page)
        keep(page, f"agreement-page-{size}")
        # one criterion, keyboard only: focus its summary, open it, choose, type, submit
        page.locator(f"#criterion-{number} summary").focus()
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        expect(page.locator(f"#criterion{number}-status")).to_be_focused()
        page.locator(f"#criterion{number}-status").select_option("met")
        page.keyboard.press("Tab")
        page.keyboard.type(f"Evidence {size}")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        expect(page.locator("#criteria-heading")).to_contain_text(f"{met + 1} of 6 met")
        expect(page.locator(f"#criterion-{number}")).to_contain_text(f"Evidence {size}")
        # a report received in the future: refused beside the field, nothing recorded
        page.get_by_label("Received on").fill(tomorrow)
        page.get_by_role("button", name="Record report").click()
        expect(page.locator("#received_on-error")).to_contain_text("future")
        expect(page.locator("#reports")).to_contain_text("No report received yet")
        assert_accessible(page)
        page.goto(f"/partners/{world['partner_id']}/agreements/new")
        expect(page.get_by_role("heading", level=1)).to_contain_text("New agreement")
        assert_no_overflow(page)
        assert_accessible(page)
        page.set_viewport_size({"width": VIEWPORTS["phone"][0], "height": VIEWPORTS["phone"][1]})
        for path in (f"/agreements/{world['code_id']}", f"/partners/{world['partner_id']}"):
            page.goto(path)
            assert_no_overflow(page)  # a phone never scrolls sideways
        keep(page, "agreements-panel-phone")

    in_browser(live_server, VIEWPORTS["desktop"], steps)
