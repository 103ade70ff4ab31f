"""My follow-ups in a real browser (issue 21, item 6): Done drops the counters without a
reload, Undo brings them back, the Undo goes away after a few seconds, and a snooze moves
an item out of "Overdue"; the nav badge loads on other pages too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.helpers import AXE, BLOCKING, keep, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture(scope="module")
def world(seeded):
    from crm.lib import timeutil
    from tests.support import factories

    user = factories.make_user(name="Olu Staff", email="olu@e2e-counters.example.org",
                               timezone="UTC")
    partner = factories.make_partner(owner=user, name="ECPAT Nigeria")
    now = timeutil.now_utc()
    ids = {}
    for i in range(3):
        ids[f"late{i}"] = factories.make_follow_up(
            partner, user, title=f"Overdue task {i}", due_at=now - timedelta(days=3 + i)).id
    for i in range(2):
        ids[f"later{i}"] = factories.make_follow_up(
            partner, user, title=f"Later task {i}", due_at=now + timedelta(days=30 + i)).id
    seeded.session.commit()
    return {"email": user.email, "ids": ids}


def _main_accessible(page) -> None:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE)
    results = page.evaluate(
        "async () => await axe.run('#main', {resultTypes: ['violations']})")
    bad = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in results["violations"]
           if v["impact"] in BLOCKING]
    assert not bad, f"axe-core on {page.url}: {bad}"


def _status(seeded, fu_id: int) -> str:
    from crm.models import FollowUp

    seeded.session.expire_all()
    return seeded.session.scalar(select(FollowUp.status).where(FollowUp.id == fu_id))


def test_done_drops_the_counts_without_reload_and_undo_brings_them_back(page, world, seeded):
    sign_in(page, world["email"])
    nav = page.locator("#nav-followups-count")
    expect(nav).to_contain_text("5")  # loaded after the dashboard by htmx
    page.goto("/follow-ups/")
    page.wait_for_load_state("load")
    total, overdue = page.locator("#followups-total"), page.locator("#group-count-overdue")
    expect(total).to_have_text("5")
    expect(overdue).to_have_text("3")
    expect(nav).to_contain_text("5")
    page.evaluate("window.__notReloaded = true")

    row = page.locator(f"#follow-up-{world['ids']['late0']}")
    row.get_by_role("button", name="Done", exact=True).click()
    expect(row).to_contain_text("Done: Overdue task 0.")
    expect(overdue).to_have_text("2")
    expect(total).to_have_text("4")
    expect(nav).to_contain_text("4")
    assert _status(seeded, world["ids"]["late0"]) == "done"
    _main_accessible(page)
    keep(page, "follow-ups-undo")

    row.get_by_role("button", name="Undo").click()
    expect(row).to_contain_text("is open again")
    expect(overdue).to_have_text("3")
    expect(total).to_have_text("5")
    expect(nav).to_contain_text("5")
    assert _status(seeded, world["ids"]["late0"]) == "open"
    assert page.evaluate("window.__notReloaded === true")

    # the Undo is offered for a few seconds only
    other = page.locator(f"#follow-up-{world['ids']['later0']}")
    other.get_by_role("button", name="Done", exact=True).click()
    expect(other.get_by_role("button", name="Undo")).to_be_visible()
    expect(page.locator("#group-count-later")).to_have_text("1")
    expect(other.get_by_role("button", name="Undo")).to_have_count(0, timeout=15_000)
    expect(other).to_contain_text("Done")

    # a snooze from the menu moves an overdue one out of "Overdue"
    late = page.locator(f"#follow-up-{world['ids']['late1']}")
    late.get_by_role("button", name="Snooze").click()
    late.get_by_role("button", name="1 day").click()
    expect(late).to_contain_text("Snoozed until")
    expect(overdue).to_have_text("2")
    expect(nav).to_contain_text("4")
    assert page.evaluate("window.__notReloaded === true")
