"""The journeys a partnership manager makes every week, in a real browser.

Server (gunicorn) and worker (`celery -A tasks worker`) are real processes; the data
is seeded once for the module through the factories.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import run_cli
from tests.e2e.helpers import keep, sign_in
from tests.support.wait import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture(scope="module")
def world(seeded):
    """Two people (a manager of partnerships and a board observer) and two partners."""
    from tests.support import factories

    staff = factories.make_user(role="staff", name="Dara Okafor", email="dara@e2e.example.org")
    viewer = factories.make_user(role="viewer", name="Vic Observer",
                                 email="vic@e2e.example.org")
    #: has the reminder journey to herself, so her email carries one follow-up
    rin = factories.make_user(role="staff", name="Rin Tanaka", email="rin@e2e.example.org")
    #: reads the dev outbox (admins only: it holds everyone's reset links)
    admin = factories.make_user(role="admin", name="Ada Admin", email="ada@e2e.example.org")
    mekong = factories.make_partner(owner=staff, name="Mekong Child Safety Network",
                                    country="TH", sector="civil_society", tags=["training"])
    andes = factories.make_partner(owner=staff, name="Andes Travel Association", country="PE",
                                   sector="travel_tourism")
    factories.make_contact(mekong, name="Somchai Srisuk", email="somchai@mekong.example.org")
    factories.make_interaction(mekong, logged_by=staff, summary="Kick-off meeting on hotlines")
    seeded.session.commit()
    return {"staff": staff.email, "viewer": viewer.email, "staff_id": staff.id,
            "rin": rin.email, "rin_id": rin.id, "admin": admin.email,
            "mekong": mekong.id, "andes": andes.id}


def _focus_by_tab(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until `selector` has the focus: how a keyboard user gets there."""
    for _ in range(limit):
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)",
                         selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def _follow_up(world: dict, title: str):
    from crm.extensions import db
    from crm.models import FollowUp

    db.session.expire_all()
    return db.session.query(FollowUp).filter_by(title=title).one_or_none()


def test_create_a_partner(page, world):
    sign_in(page, world["staff"])
    page.goto("/partners/new")
    page.get_by_label("Name").fill("Nairobi Youth Helpline")
    page.get_by_label("Sector").select_option(label="Civil society")
    country = page.locator("#country")
    country.select_option("KE") if country.is_visible() else _tom_select(page, "country",
                                                                         "Kenya")
    page.get_by_role("button", name="Create partner").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Nairobi Youth Helpline")
    expect(page.locator("main")).to_contain_text("Kenya")
    keep(page, "create-partner")


def _tom_select(page: Page, field_id: str, text: str) -> None:
    """Choose `text` in a Tom Select-enhanced <select id=field_id> by typing, as people do."""
    page.locator(f"#{field_id}-ts-control").fill(text)
    page.locator(f"#{field_id}-ts-dropdown .option", has_text=text).first.click()


def test_log_an_interaction_with_a_follow_up_using_only_the_keyboard(page, world):
    sign_in(page, world["staff"])
    page.wait_for_load_state("load")  # app.js listens for the shortcut
    page.keyboard.press("l")  # the global shortcut for "Log interaction"
    expect(page).to_have_url(re.compile(r"/interactions/new"))

    # the partner picker has the focus: type, pick with Enter
    expect(page.locator("#partner_id-ts-control")).to_be_focused()
    page.keyboard.type("Mekong")
    expect(page.locator(".ts-dropdown .option", has_text="Mekong Child Safety Network")
           .first).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#partner_id")).to_have_value(str(world["mekong"]))

    _focus_by_tab(page, "#kind")
    page.keyboard.press("End")  # the last kind: "other" would do; pick "call" by typing
    page.keyboard.type("call")
    _focus_by_tab(page, "#summary")
    page.keyboard.type("Call about the joint hotline training for hotel staff")
    _focus_by_tab(page, "#outcome")
    page.keyboard.type("They will host the first session in March.")
    _focus_by_tab(page, "details summary")
    page.keyboard.press("Enter")  # opens "Add a follow-up"
    _focus_by_tab(page, "#follow_up_title")
    page.keyboard.type("Send the training agenda")
    _focus_by_tab(page, "#follow_up_due")
    due = datetime.now(UTC).date()  # due today: the dashboard lists it
    page.keyboard.type(due.isoformat())  # a text field: "today", "friday", "+3d" work too
    page.keyboard.press("Control+Enter")

    expect(page.locator("main")).to_contain_text("Call about the joint hotline training")
    follow_up = _follow_up(world, "Send the training agenda")
    assert follow_up is not None, "the follow-up was not saved"
    assert follow_up.assignee_id == world["staff_id"]
    assert follow_up.due_at.date() == due

    # on the partner's timeline …
    page.goto(f"/partners/{world['mekong']}")
    timeline = page.locator("main")
    expect(timeline).to_contain_text("Call about the joint hotline training for hotel staff")
    expect(timeline).to_contain_text("Send the training agenda")
    # … and on the dashboard
    page.goto("/")
    expect(page.locator("main")).to_contain_text("Send the training agenda")
    expect(page.locator("main")).to_contain_text("Mekong Child Safety Network")
    keep(page, "log-interaction-keyboard")


def test_complete_a_follow_up_from_my_follow_ups(page, world):
    from crm.extensions import db
    from crm.models import Partner, User
    from tests.support import factories

    staff = db.session.get(User, world["staff_id"])
    factories.make_follow_up(db.session.get(Partner, world["andes"]), staff,
                             title="Confirm the venue for the workshop")
    db.session.commit()

    sign_in(page, world["staff"])
    page.get_by_role("link", name="My follow-ups").click()
    row = page.locator("[id^=follow-up-]", has_text="Confirm the venue for the workshop")
    expect(row).to_be_visible()
    row.get_by_role("button", name="Done").click()

    expect(page.locator("[id^=follow-up-]", has_text="Confirm the venue for the workshop")
           .get_by_role("button", name="Done")).to_have_count(0)
    wait_until(lambda: _follow_up(world, "Confirm the venue for the workshop").status == "done",
               timeout=30, message="the follow-up to be saved as done")
    keep(page, "complete-follow-up")


def test_filter_the_partner_list_and_share_the_url(page, browser, live_server, world):
    sign_in(page, world["staff"])
    page.goto("/partners/")
    page.locator("#f-q").fill("mekong")
    page.locator("#f-sector").select_option("civil_society")
    page.get_by_role("button", name="Apply").click()

    query = parse_qs(urlsplit(page.url).query)
    assert query["q"] == ["mekong"] and query["sector"] == ["civil_society"]
    results = page.locator("main table")
    expect(results).to_contain_text("Mekong Child Safety Network")
    expect(results).not_to_contain_text("Andes Travel Association")
    shared = page.url

    # a colleague opens the shared link: sign-in first, then the same filtered list
    other = browser.new_context(base_url=live_server)
    try:
        colleague = other.new_page()
        colleague.goto(shared)
        expect(colleague).to_have_url(re.compile(r"/login\?next="))
        colleague.get_by_label("Email").fill(world["viewer"])
        from tests.support.factories import PASSWORD

        colleague.get_by_label("Password", exact=True).fill(PASSWORD)
        colleague.get_by_role("button", name="Sign in").click()
        expect(colleague).to_have_url(re.compile(r"/partners/\?.*q=mekong"))
        expect(colleague.locator("#f-q")).to_have_value("mekong")
        expect(colleague.locator("main table")).to_contain_text("Mekong Child Safety Network")
        expect(colleague.locator("main table")).not_to_contain_text("Andes Travel Association")
        keep(colleague, "shared-partner-list")
    finally:
        other.close()


def test_open_the_reminder_email_and_follow_its_snooze_link(page, world, e2e_env,
                                                            live_worker):
    from crm.extensions import db
    from crm.models import Partner, User
    from tests.support import factories

    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rin = db.session.get(User, world["rin_id"])
    factories.make_follow_up(db.session.get(Partner, world["mekong"]), rin,
                             title="Share the signed MoU", due_at=today + timedelta(hours=9))
    db.session.commit()

    # what beat does every minute: the sweep (here "at" 10:00 UTC, after the 08:00 reminder)
    swept = run_cli(e2e_env, "crm", "sweep-reminders", "--at",
                    (today + timedelta(hours=10)).isoformat())
    assert swept.returncode == 0, swept.stderr
    assert re.search(r"emails=[1-9]", swept.stdout), swept.stdout

    sign_in(page, world["admin"])  # the outbox is for admins; the link then works for anyone

    def delivered():
        page.goto("/dev/outbox")
        found = page.locator("main tr", has_text=world["rin"]).get_by_role(
            "link", name="A follow-up is due today")
        return found if found.count() else None

    message = wait_until(delivered, timeout=60, interval=0.5,
                         message="the worker to deliver the reminder to /dev/outbox")
    message.first.click()
    expect(page.locator("main")).to_contain_text(world["rin"])
    # the HTML part, as the sandboxed srcdoc frame on the page shows it
    snooze = page.frame_locator("iframe[title='HTML part']").get_by_role(
        "link", name=re.compile("Snooze"))
    expect(snooze).to_have_count(1)
    href = snooze.get_attribute("href")
    assert href.startswith(e2e_env["CRM_BASE_URL"]), href

    page.goto(href)
    page.get_by_role("button", name=re.compile("Snooze", re.I)).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile("snooze", re.I))
    follow_up = _follow_up(world, "Share the signed MoU")
    assert follow_up.snoozed_until is not None
    assert follow_up.snoozed_until > datetime.now(UTC) + timedelta(days=6)
    keep(page, "reminder-snooze")


def test_a_viewer_sees_no_write_buttons(page, world):
    sign_in(page, world["viewer"])
    for path in ("/", "/partners/", f"/partners/{world['mekong']}", "/follow-ups/"):
        page.goto(path)
        main = page.locator("body")
        for name in ("Log interaction", "New partner", "Edit", "Archive", "Add contact",
                     "Add follow-up", "Done"):
            expect(main.get_by_role("link", name=name, exact=True)).to_have_count(0)
            expect(main.get_by_role("button", name=name, exact=True)).to_have_count(0)
    page.goto(f"/partners/{world['mekong']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mekong Child Safety Network")
    keep(page, "viewer-read-only")
