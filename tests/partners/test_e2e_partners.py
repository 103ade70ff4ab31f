"""In a real browser (desktop and phone): filter the partner list, open a partner, load older
timeline entries with htmx, add-contact form, and create a partner through the duplicate
warning with the country picked in the searchable select and the region derived on the page.
axe-core on each page.

Chromium is driven from a thread of its own: a Playwright sync instance left open by another
module (a session-scoped `browser`) would otherwise make this one fail with "Sync API inside
the asyncio loop". Database checks stay in the test's own thread (its app context).
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import func, select

# the e2e server fixtures (gunicorn on a free port, this run's database)
from tests.e2e.conftest import (  # noqa: F401
    CHROMIUM,
    CHROMIUM_ARGS,
    e2e_env,
    e2e_instance,
    live_server,
    seeded,
)
from tests.e2e.helpers import AXE, BLOCKING, keep, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}


def in_browser(base_url: str, viewport: tuple[int, int], steps, **context_options) -> None:
    """Run `steps(page)` in a fresh Chromium in its own thread; re-raise what it raised.
    `context_options` go to the browser context (e.g. `java_script_enabled=False`)."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with sync_playwright() as playwright:
                chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                      args=CHROMIUM_ARGS)
                try:
                    context = chromium.new_context(
                        base_url=base_url,
                        viewport={"width": viewport[0], "height": viewport[1]},
                        **context_options)
                    context.set_default_timeout(10_000)
                    steps(context.new_page())
                finally:
                    chromium.close()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test's thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="chromium")
    thread.start()
    thread.join(240)
    assert not thread.is_alive(), "the browser steps did not finish in 240 s"
    if failure:
        raise failure[0]


def assert_accessible(page) -> None:
    """axe-core on this area's content (#main); the shared navigation is checked elsewhere."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE)
    results = page.evaluate("async () => await axe.run('#main', {resultTypes: ['violations']})")
    bad = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in results["violations"]
           if v["impact"] in BLOCKING]
    assert not bad, f"axe-core on {page.url}: {bad}"


def assert_no_overflow(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


@pytest.fixture(scope="module")
def world(seeded):  # noqa: F811
    from crm.lib import timeutil
    from tests.support import factories

    staff = factories.make_user(name="Pia Partners", email="pia@e2e-partners.example.org")
    partner = factories.make_partner(owner=staff, name="Fundación Niñez Segura", country="CO",
                                     sector="civil_society", tags=["osec"])
    now = timeutil.now_utc()
    for n in range(30):
        factories.make_interaction(partner, staff, occurred_at=now - timedelta(days=n + 1),
                                   summary=f"E2E meeting {n:02d}")
    factories.make_partner(owner=staff, name="E2E Travel Board", country="TH",
                           sector="travel_tourism")
    seeded.session.commit()
    return {"email": staff.email, "partner_id": partner.id}


@pytest.mark.parametrize("size", VIEWPORTS)
def test_list_page_and_timeline(live_server, world, size):  # noqa: F811
    def steps(page):
        sign_in(page, world["email"])
        page.goto("/partners/?q=ninez")
        expect(page.locator("#result-count")).to_contain_text("1 partner")
        expect(page.locator(".partner-table")).to_contain_text("Fundación Niñez Segura")
        assert_no_overflow(page)
        assert_accessible(page)
        page.get_by_role("link", name="Fundación Niñez Segura").click()
        expect(page).to_have_url(re.compile(rf"/partners/{world['partner_id']}$"))
        expect(page.locator("#timeline > li:not(.timeline-more)")).to_have_count(25)
        expect(page.locator("#timeline")).not_to_contain_text("E2E meeting 29")
        page.get_by_role("button", name="Load older entries").click()
        expect(page.locator("#timeline")).to_contain_text("E2E meeting 29")
        expect(page.get_by_role("button", name="Load older entries")).to_have_count(0)
        assert_no_overflow(page)
        assert_accessible(page)
        keep(page, f"partner-page-{size}")
        page.get_by_role("link", name="Add", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("New contact")
        assert_no_overflow(page)
        assert_accessible(page)

    in_browser(live_server, VIEWPORTS[size], steps)


@pytest.mark.parametrize("size", VIEWPORTS)
def test_create_through_duplicate_warning(live_server, world, seeded, size):  # noqa: F811
    from crm.models import Partner

    before = seeded.session.scalar(select(func.count()).select_from(Partner))

    def steps(page):
        sign_in(page, world["email"])
        page.goto("/partners/new")
        page.get_by_label("Name").fill("FUNDACION ninez segura")
        page.get_by_label("Sector").select_option("civil_society")
        page.locator("#country-ts-control").focus()
        page.keyboard.type("Colombia")
        page.locator(".ts-dropdown .option", has_text="Colombia").first.click()
        expect(page.locator("#derived-region")).to_have_text("Americas")
        assert_accessible(page)
        page.locator("main button[type=submit]").click()
        expect(page.locator("#duplicate-warning")).to_contain_text("Fundación Niñez Segura")
        page.get_by_label("Create anyway").check()
        page.locator("main button[type=submit]").click()
        expect(page.get_by_role("alert")).to_contain_text("created")
        assert_no_overflow(page)

    in_browser(live_server, VIEWPORTS[size], steps)
    seeded.session.expire_all()
    assert seeded.session.scalar(select(func.count()).select_from(Partner)) == before + 1
