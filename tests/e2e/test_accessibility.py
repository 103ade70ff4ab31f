"""axe-core (vendored) on the pages people use most: no serious or critical violations."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import assert_accessible, axe_violations, keep, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture(scope="module")
def world(seeded):
    from tests.support import factories

    staff = factories.make_user(role="staff", name="Ama Mensah", email="ama@a11y.example.org")
    partner = factories.make_partner(owner=staff, name="Accra Child Rights Coalition",
                                     country="GH", tags=["helpline"])
    contact = factories.make_contact(partner, name="Kofi Adeyemi", do_not_contact=True,
                                     lawful_basis="consent", lawful_basis_note="Form signed")
    interaction = factories.make_interaction(partner, logged_by=staff,
                                             summary="Reviewed the referral guide",
                                             contacts=[contact])
    factories.make_follow_up(partner, staff, title="Share the updated guide",
                             interaction=interaction)
    seeded.session.commit()
    return {"staff": staff.email, "partner": partner.id, "contact": contact.id}


PAGES = {
    "dashboard": "/",
    "partner-list": "/partners/",
    "partner-page": "/partners/{partner}",
    "log-form": "/interactions/new",
    "contact-page": "/contacts/{contact}",
    "contact-form": "/contacts/{contact}/edit",
    "reports": "/reports/",
}


@pytest.mark.parametrize("name", PAGES)
def test_no_serious_or_critical_violations(page, world, name):
    sign_in(page, world["staff"])
    response = page.goto(PAGES[name].format(**world))
    assert response.status == 200
    page.wait_for_load_state("networkidle")  # charts and htmx fragments are in place

    assert_accessible(page)
    keep(page, f"a11y-{name}")


def test_the_check_can_fail(page, world):
    """A page with a nameless button and an unlabelled field must be reported."""
    sign_in(page, world["staff"])
    page.goto("/")
    page.evaluate("""() => {
        const main = document.querySelector('main');
        main.insertAdjacentHTML('beforeend',
            '<button id="bad-button"></button><input id="bad-input" type="text">');
    }""")
    expect(page.locator("#bad-button")).to_have_count(1)

    ids = {v["id"] for v in axe_violations(page)}

    assert {"button-name", "label"} <= ids
