"""In Chromium: the partner list applies a filter as soon as it changes (htmx, the URL kept
shareable), the Apply button stays where it is when the searchable Country box loses focus,
and without JavaScript the Apply button still filters."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

# the e2e server fixtures (gunicorn on a free port, this run's database)
from tests.e2e.conftest import (  # noqa: F401
    e2e_env,
    e2e_instance,
    live_server,
    seeded,
)
from tests.e2e.helpers import sign_in
from tests.partners.test_e2e_partners import VIEWPORTS, assert_accessible, in_browser

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture(scope="module")
def world(seeded):  # noqa: F811
    from tests.support import factories

    staff = factories.make_user(name="Fil Filters", email="fil@e2e-filters.example.org")
    factories.make_partner(owner=staff, name="Hoteles Mexicana del Pacífico", country="MX",
                           sector="travel_tourism")
    factories.make_partner(owner=staff, name="Bangkok Child Safety", country="TH",
                           sector="civil_society")
    factories.make_partner(owner=staff, name="Thai Tour Operators", country="TH",
                           sector="travel_tourism")
    seeded.session.commit()
    return {"email": staff.email}


def _apply_top(page) -> float:
    return page.get_by_role("button", name="Apply").bounding_box()["y"]


@pytest.mark.parametrize("size", VIEWPORTS)
def test_filters_apply_on_change_and_keep_the_url(live_server, world, size):  # noqa: F811
    def steps(page):
        sign_in(page, world["email"])
        page.goto("/partners/")
        expect(page.locator("#result-count")).to_contain_text("3 partners")
        if size == "phone":
            page.get_by_role("button", name="Filters").click()
            expect(page.locator("#more-filters")).to_have_class(re.compile(r"\bshow\b"))
        page.evaluate("window.__samePage = true")  # gone if the browser loads a new page

        # the Apply button does not move when the Country box gains and loses focus (the
        # focused box used to grow by a line, 21 px, and shrink back on blur)
        before = _apply_top(page)
        page.locator("#f-country-ts-control").focus()
        page.keyboard.type("Thai")
        assert abs(_apply_top(page) - before) < 1, "Apply moved when Country took focus"
        page.get_by_role("heading", name="Partners", level=1).click()  # focus leaves the box
        assert abs(_apply_top(page) - before) < 1, "Apply moved when Country lost focus"

        # a native select: the list and the address change, the page stays
        page.locator("#f-sector").select_option("travel_tourism")
        expect(page).to_have_url(re.compile(r"[?&]sector=travel_tourism"))
        expect(page.locator("#result-count")).to_contain_text("2 partners")
        expect(page.locator("#partner-results")).not_to_contain_text("Bangkok Child Safety")

        # the searchable country select
        page.locator("#f-country-ts-control").focus()
        page.keyboard.type("Thailand")
        page.locator(".ts-dropdown .option", has_text="Thailand").first.click()
        expect(page).to_have_url(re.compile(r"[?&]country=TH"))
        expect(page.locator("#result-count")).to_contain_text("1 partner")
        expect(page.locator("#partner-results")).to_contain_text("Thai Tour Operators")
        expect(page.get_by_role("link", name="Clear filters")).to_be_visible()
        assert page.evaluate("window.__samePage === true"), "the filter reloaded the page"
        assert "country=TH" in page.get_by_role("link", name="Export CSV").get_attribute("href")

        # the name search, words in any order, applies as you type
        page.locator("#f-country-ts-control").focus()
        page.keyboard.press("Backspace")
        page.get_by_role("heading", name="Partners", level=1).click()
        expect(page).not_to_have_url(re.compile(r"country=TH"))
        page.locator("#f-q").fill("mexicana hoteles")
        expect(page.locator("#result-count")).to_contain_text("1 partner")
        expect(page).to_have_url(re.compile(r"\?q=mexicana(\+|%20)hoteles&sector=travel_tourism$"))
        assert_accessible(page)

        # the address is shareable: opened afresh it shows the same list
        shared = page.url
        page.goto(shared)
        expect(page.locator("#f-q")).to_have_value("mexicana hoteles")
        expect(page.locator("#partner-results")).to_contain_text("Hoteles Mexicana del Pacífico")
        # and Back returns to the previous filters
        page.go_back()
        expect(page.locator("#partner-results")).to_contain_text("Hoteles Mexicana del Pacífico")

    in_browser(live_server, VIEWPORTS[size], steps)


def test_apply_works_without_javascript(live_server, world):  # noqa: F811
    def steps(page):
        sign_in(page, world["email"])
        page.goto("/partners/")
        page.locator("#f-sector").select_option("civil_society")
        expect(page.locator("#result-count")).to_contain_text("3 partners")  # nothing yet
        page.get_by_role("button", name="Apply").click()
        expect(page).to_have_url(re.compile(r"[?&]sector=civil_society"))
        expect(page.locator("#result-count")).to_contain_text("1 partner")
        expect(page.locator("#partner-results")).to_contain_text("Bangkok Child Safety")

    in_browser(live_server, VIEWPORTS["desktop"], steps, java_script_enabled=False)
