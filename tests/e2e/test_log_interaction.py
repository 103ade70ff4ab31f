"""Log interaction and My follow-ups (the interactions area), in a real browser: press L, pick a partner by typing, tick a contact, Ctrl+Enter;
then close the follow-up from "My follow-ups" with htmx. Desktop and phone widths."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.helpers import AXE, BLOCKING, keep, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def assert_accessible(page) -> None:
    """axe-core on this area's content (#main): the shared navigation is checked elsewhere."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE)
    results = page.evaluate(
        "async () => await axe.run('#main', {resultTypes: ['violations']})")
    bad = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in results["violations"]
           if v["impact"] in BLOCKING]
    assert not bad, f"axe-core on {page.url}: {bad}"


@pytest.fixture(scope="module")
def world(seeded):
    from tests.support import factories

    staff = factories.make_user(name="Nadia Staff", email="nadia@e2e-log.example.org",
                                timezone="Asia/Bangkok")
    partner = factories.make_partner(owner=staff, name="Royal Thai Police – TICAC",
                                     sector="law_enforcement")
    factories.make_contact(partner, name="Pol. Col. Anan")
    factories.make_partner(owner=staff, name="Thai Hotels Association")
    seeded.session.commit()
    return {"email": staff.email, "partner_id": partner.id}


@pytest.fixture(params=[(1280, 900), (390, 844)], ids=["desktop", "phone"])
def page(browser, live_server, request):
    """The shared `page`, at a desktop and a phone width."""
    context = browser.new_context(base_url=live_server,
                                  viewport={"width": request.param[0],
                                            "height": request.param[1]})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def test_log_with_keyboard_then_complete_follow_up(page, world, seeded):
    from crm.models import FollowUp, Interaction

    sign_in(page, world["email"])
    page.wait_for_load_state("load")  # app.js (the L shortcut) has run
    page.keyboard.press("l")
    expect(page).to_have_url(re.compile(r"/interactions/new$"))
    # the partner picker has the focus: type, choose, and the contacts arrive by htmx
    expect(page.locator("#partner_id-ts-control")).to_be_focused()
    page.keyboard.type("royal thai")
    page.locator(".ts-dropdown .option", has_text="Royal Thai Police").click()
    expect(page.locator("#partner-fields")).to_contain_text("Pol. Col. Anan")
    expect(page.locator("#sensitivity")).to_contain_text("Restricted (default for this partner)")
    page.get_by_label("Pol. Col. Anan").check()
    page.get_by_label("Kind").select_option("call")
    page.get_by_label("Summary").fill("Agreed a joint <b>training</b> on online grooming.")
    page.locator("details summary").click()
    page.get_by_label("What needs doing").fill("Send the training agenda")
    page.get_by_label("Due date").fill("2031-01-15")
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    assert_accessible(page)
    page.get_by_label("Summary").press("Control+Enter")
    expect(page.get_by_role("alert")).to_contain_text("saved")

    seeded.session.expire_all()
    interaction = seeded.session.scalar(
        select(Interaction).where(Interaction.summary.like("Agreed a joint%"))
        .order_by(Interaction.id.desc()))
    assert interaction.sensitivity == "restricted" and interaction.kind == "call"

    page.goto("/follow-ups/")
    row = page.locator(".follow-up-row", has_text="Send the training agenda").first
    expect(row).to_contain_text("Royal Thai Police")
    assert_accessible(page)
    row.get_by_role("button", name="Done").click()
    expect(page.locator(".follow-up-row", has_text="Send the training agenda").first
           ).to_contain_text("Done:")
    keep(page, f"follow-ups-{page.viewport_size['width']}")
    seeded.session.expire_all()
    statuses = seeded.session.scalars(select(FollowUp.status).where(
        FollowUp.interaction_id == interaction.id)).all()
    assert statuses == ["done"]
