"""Sign in and sign out through the real forms, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import keep, sign_in, sign_out

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture(scope="module")
def people(seeded):
    from tests.support import factories

    staff = factories.make_user(role="staff", name="Dara Staff", email="dara@e2e.example.org")
    seeded.session.commit()
    return {"staff": staff.email}


def test_sign_in_then_sign_out(page, people):
    sign_in(page, people["staff"])
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Dara Staff")

    sign_out(page)

    expect(page.get_by_role("alert")).to_contain_text("signed out")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    keep(page, "sign-out")


def test_wrong_password_is_refused_beside_the_form(page, people):
    sign_in_page = page.goto("/login")
    assert sign_in_page.status == 200
    page.get_by_label("Email").fill(people["staff"])
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("do not match")
    expect(page).to_have_url(re.compile(r"/login"))
