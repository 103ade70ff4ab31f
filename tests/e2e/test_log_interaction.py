"""Log interaction and My follow-ups (the interactions area), in a real browser: press L, pick a partner by typing, tick a contact, Ctrl+Enter;
then close the follow-up from "My follow-ups" with htmx. Desktop and phone widths. The keyboard-only journey counts its
non-text keys; on a phone, Save is in view without scrolling; the saved entry is highlighted where you land."""

from __future__ import annotations

import re
from datetime import timedelta

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
    page.get_by_label("Due", exact=True).fill("2031-01-15")
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


#: the non-text keys (Tab, Enter, arrows, shortcuts) the keyboard journey may cost: issue 21 measured 21 before
KEY_BUDGET = 8


def test_log_by_keyboard_in_at_most_8_non_text_keys(page, world, seeded):
    """L, partner, summary, a follow-up with its due date, save: typed text is free, every other key counts."""
    from crm.lib import timeutil
    from crm.lib.when import parse_due
    from crm.models import FollowUp, Interaction
    from crm.services.followups import local_due

    keys: list[str] = []

    def press(key: str) -> None:
        keys.append(key)
        page.keyboard.press(key)

    sign_in(page, world["email"])
    page.wait_for_load_state("load")
    press("l")
    expect(page.locator("#partner_id-ts-control")).to_be_focused()
    page.keyboard.type("royal thai")
    expect(page.locator(".ts-dropdown .option.active", has_text="Royal Thai Police")).to_be_visible()
    press("Enter")  # the first match is chosen
    expect(page.locator("#partner-fields")).to_contain_text("Pol. Col. Anan")
    press("Tab")  # → Kind (a meeting unless changed)
    expect(page.locator("#kind")).to_be_focused()
    press("Tab")  # → Summary
    page.keyboard.type("Keyboard-only call about the hotline")
    press("Alt+F")  # opens "Add a follow-up", the cursor in its title
    expect(page.locator("#follow_up_title")).to_be_focused()
    page.keyboard.type("Send the hotline leaflet")
    press("Tab")  # → Due
    page.keyboard.type("friday")
    before = timeutil.now_utc()
    press("Control+Enter")
    expect(page.get_by_role("alert")).to_contain_text("saved")
    after = timeutil.now_utc()

    print(f"\nnon-text keys: {len(keys)} {keys}")
    assert len(keys) <= KEY_BUDGET, keys
    seeded.session.expire_all()
    interaction = seeded.session.scalar(select(Interaction).where(
        Interaction.summary == "Keyboard-only call about the hotline").order_by(Interaction.id.desc()))
    assert interaction.kind == "meeting" and before - timedelta(minutes=1) <= interaction.occurred_at <= after
    fu = seeded.session.scalar(select(FollowUp).where(FollowUp.interaction_id == interaction.id))
    tz = "Asia/Bangkok"
    assert fu.title == "Send the hotline leaflet"
    assert fu.due_at in {local_due(parse_due("friday", tz, moment), tz) for moment in (before, after)}
    # you land on the partner page, on the entry just saved, highlighted
    expect(page).to_have_url(re.compile(rf"/partners/{world['partner_id']}#interaction-{interaction.id}$"))
    entry = page.locator(f"#interaction-{interaction.id}")
    expect(entry).to_be_in_viewport()
    assert entry.evaluate("el => el.matches(':target')")
    page.screenshot(path=str(keep(page, "log-saved").with_name(f"log-saved-{page.viewport_size['width']}.png")))


def test_phone_save_is_in_view_and_errors_come_back_together(page, world):
    sign_in(page, world["email"])
    page.goto(f"/interactions/new?partner_id={world['partner_id']}")
    save = page.get_by_role("button", name="Save interaction")
    expect(save).to_be_in_viewport()  # no scrolling: the save bar sticks to the bottom
    width = page.viewport_size["width"]
    # docs/screenshots/log-interaction.png (1280, full page) and log-interaction-phone.png (390,
    # the viewport) are copies of these artefacts, refreshed by hand
    shot = keep(page, f"log-interaction-{width}")
    page.screenshot(path=str(shot.with_name(f"log-interaction-{width}-viewport.png")))

    page.get_by_label("Summary").fill("x" * 20_005)  # maxlength keeps the browser at the limit
    assert len(page.get_by_label("Summary").input_value()) == 20_000
    page.get_by_label("When").fill("next tuesday-ish")
    page.locator("#follow-up summary").click()
    page.get_by_label("What needs doing").fill("Call back")
    page.get_by_label("Due", exact=True).fill("someday")
    page.get_by_label("When").press("Control+Enter")
    expect(page.locator("#occurred_at-error")).to_contain_text("Not a valid time")
    expect(page.locator("#follow_up_due-error")).to_contain_text("tomorrow")
    expect(page.locator("#follow_up_due")).to_be_focused()  # the first field with an error
    expect(save).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert_accessible(page)
