"""In a real browser (desktop and phone): filter the partner list, open a partner, load older
timeline entries with htmx, create a partner through the duplicate warning, with the
country picked in the searchable select and the region derived on the page. axe-core on each."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

# the e2e fixtures (gunicorn on a free port, this run's database, Chromium)
from tests.e2e.conftest import (  # noqa: F401
    browser,
    e2e_env,
    e2e_instance,
    live_server,
    seeded,
)
from tests.e2e.helpers import AXE, BLOCKING, keep, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


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
    from crm.services import timeutil
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


@pytest.fixture(params=[(1280, 900), (390, 844)], ids=["desktop", "phone"])
def page(browser, live_server, request):  # noqa: F811
    context = browser.new_context(base_url=live_server,
                                  viewport={"width": request.param[0],
                                            "height": request.param[1]})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def test_list_page_and_timeline(page, world):
    sign_in(page, world["email"])
    page.goto("/partners/?q=ninez")
    expect(page.locator("#result-count")).to_contain_text("1 partner")
    expect(page.locator(".partner-table")).to_contain_text("Fundación Niñez Segura")
    assert_no_overflow(page)
    assert_accessible(page)
    page.get_by_role("link", name="Fundación Niñez Segura").click()
    expect(page).to_have_url(re.compile(rf"/partners/{world['partner_id']}$"))
    timeline = page.locator("#timeline > li:not(.timeline-more)")
    expect(timeline).to_have_count(25)
    expect(page.locator("#timeline")).not_to_contain_text("E2E meeting 29")
    page.get_by_role("button", name="Load older entries").click()
    expect(page.locator("#timeline")).to_contain_text("E2E meeting 29")
    expect(page.get_by_role("button", name="Load older entries")).to_have_count(0)
    assert_no_overflow(page)
    assert_accessible(page)
    keep(page, f"partner-page-{page.viewport_size['width']}")
    page.get_by_role("link", name="Add", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("New contact")
    assert_no_overflow(page)
    assert_accessible(page)


def test_create_through_duplicate_warning(page, world, seeded):  # noqa: F811
    from crm.models import Partner

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
    before = seeded.session.scalar(select(func.count()).select_from(Partner))
    page.get_by_label("Create anyway").check()
    page.locator("main button[type=submit]").click()
    expect(page.get_by_role("alert")).to_contain_text("created")
    seeded.session.expire_all()
    assert seeded.session.scalar(select(func.count()).select_from(Partner)) == before + 1
    assert_no_overflow(page)
