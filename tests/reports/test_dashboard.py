"""Dashboard page and chart data endpoints against the hand-built network (exact numbers)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.lib import cache, timeutil
from crm.services import dashboard
from tests.reports import dataset


@pytest.fixture
def net(db):
    return dataset.build()


def _series(payload: dict) -> dict[str, list[int]]:
    return {s["sector"]: s["data"] for s in payload["series"]}


def test_interactions_by_month_is_stacked_by_sector_and_visible_only(db, client, login_as, net):
    months = dataset.with_monthly(net, timeutil.now_utc())
    db.session.commit()
    zero = [0] * 12
    login_as(net.alice)
    data = client.get("/dashboard/data/interactions-by-month.json").get_json()
    assert data["months"] == months
    series = _series(data)
    assert series["civil_society"] == zero[:10] + [1, 2]
    assert series["law_enforcement"] == zero[:11] + [1]
    assert series["technology"] == zero[:9] + [1, 0, 0]
    assert set(series) == {"civil_society", "law_enforcement", "technology"}


@pytest.mark.parametrize(("who", "civil_now", "has_law"), [
    ("admin", 3, True),      # sees the confidential p4 interaction too
    ("viewer", 2, False),    # standard only: no restricted p2, no confidential p4
    ("bob", 3, False),       # owns confidential p4; p2 restricted is alice's
])
def test_month_counts_follow_visibility(db, client, login_as, net, who, civil_now, has_law):
    dataset.with_monthly(net, timeutil.now_utc())
    db.session.commit()
    login_as(getattr(net, who))
    series = _series(client.get("/dashboard/data/interactions-by-month.json").get_json())
    assert series["civil_society"][-1] == civil_now
    assert ("law_enforcement" in series) is has_law


def test_partners_by_stage_counts_visible_non_archived(db, client, login_as, net):
    db.session.commit()
    login_as(net.alice)
    stages = {s["stage"]: s["count"]
              for s in client.get("/dashboard/data/partners-by-stage.json").get_json()["stages"]}
    assert stages == {"prospect": 0, "dialogue": 0, "agreement": 1, "active": 3, "dormant": 0,
                      "closed": 0}


@pytest.mark.parametrize(("who", "expected"), [
    ("admin", {"TH": 2, "KE": 1, "DE": 1, "BR": 1}),
    ("manager", {"TH": 2, "KE": 1, "BR": 1}),            # confidential p4 is bob's only
    ("asia_manager", {"TH": 2, "KE": 1, "BR": 1}),       # restricted p2 is in Asia
    ("americas_manager", {"TH": 1, "KE": 1, "BR": 1}),   # restricted p2 outside the scope
])
def test_map_counts_respect_visibility(db, client, login_as, net, who, expected):
    db.session.commit()
    login_as(getattr(net, who))
    data = client.get("/dashboard/data/countries.json").get_json()
    assert {c["country"]: c["count"] for c in data["countries"]} == expected
    numeric = {c["country"]: c["numeric"] for c in data["countries"]}
    assert numeric["TH"] == "764" and numeric["BR"] == "076"
    assert data["max"] == max(expected.values())


def test_coverage_matrix_counts_live_partners(db, client, login_as, net):
    db.session.commit()
    login_as(net.admin)
    data = client.get("/dashboard/data/coverage.json").get_json()
    sectors = [s["sector"] for s in data["sectors"]]
    cells = {(r, sectors[j]): n for i, r in enumerate(data["regions"])
             for j, n in enumerate(data["cells"][i]) if n}
    assert cells == {("Asia", "civil_society"): 1, ("Asia", "law_enforcement"): 1,
                     ("Africa", "technology"): 1, ("Americas", "government"): 1}
    assert "Antarctic" not in data["regions"]


@pytest.mark.parametrize("path", ["/dashboard/data/coverage.json", "/dashboard/data/countries.json"])
def test_overview_data_is_for_managers_and_admins(db, client, login_as, net, path):
    db.session.commit()
    login_as(net.alice)
    assert client.get(path).status_code == 403


def test_dashboard_page_lists_my_work_and_health(db, client, login_as, net):
    now = timeutil.now_utc()
    dataset.with_monthly(net, now)
    dataset.set_silence(net, now)
    from tests.support.factories import make_follow_up

    make_follow_up(net.p[1], net.alice, title="Overdue thing", due_at=now - timedelta(days=2))
    make_follow_up(net.p[1], net.alice, title="Later thing", due_at=now + timedelta(days=5))
    make_follow_up(net.p[3], net.bob, title="Bob's thing", due_at=now - timedelta(days=2))
    db.session.commit()
    login_as(net.alice)
    page = client.get("/").get_data(as_text=True)
    assert "Overdue thing" in page and "Later thing" not in page and "Bob&#39;s thing" not in page
    assert 'data-health="engaged">1<' in page and 'data-health="cooling">1<' in page
    assert 'data-health="lapsed">0<' in page and 'data-health="new">0<' in page
    assert "Log interaction" in page and 'id="chart-monthly"' in page
    assert 'id="coverage-matrix"' not in page  # staff: no overview
    assert "<script>" not in page  # CSP: no inline script


def test_dashboard_for_manager_has_map_and_coverage(db, client, login_as, net):
    db.session.commit()
    login_as(net.manager)
    page = client.get("/").get_data(as_text=True)
    assert 'id="coverage-matrix"' in page and 'id="chart-map"' in page
    assert "chartjs-chart-geo/index.umd.min.js" in page
    assert 'href="/partners/?country=TH"' in page


def test_dashboard_statement_count_does_not_grow(db, client, login_as, net, count_queries):
    dataset.with_monthly(net, timeutil.now_utc())
    db.session.commit()
    login_as(net.manager)
    paths = ["/", "/dashboard/data/interactions-by-month.json",
             "/dashboard/data/partners-by-stage.json", "/dashboard/data/coverage.json",
             "/dashboard/data/countries.json"]

    def measure():
        cache.clear()  # compare cold requests: the monthly chart is cached for 5 minutes
        counts = []
        for path in paths:
            db.session.expire_all()  # every request starts from a cold identity map
            with count_queries() as counter:
                assert client.get(path).status_code == 200
            counts.append(counter.count)
        return counts

    small = measure()
    dataset.grow(net.manager, 40)
    db.session.commit()
    assert measure() == small


def test_service_month_keys():
    from datetime import UTC, datetime

    keys = dashboard.last_months(datetime(2025, 2, 10, tzinfo=UTC), 3)
    assert keys == ["2024-12", "2025-01", "2025-02"]


def test_health_boxes_say_what_each_state_means_with_the_configured_numbers(
        app, db, client, login_as, net, monkeypatch):
    monkeypatch.setitem(app.config, "HEALTH_THRESHOLDS", {"law_enforcement": (30, 75)})
    monkeypatch.setitem(app.config, "HEALTH_DEFAULT_THRESHOLDS", (45, 100))
    login_as(net.alice)
    page = client.get("/").get_data(as_text=True)
    assert "What do these mean?" in page
    assert "45 days, lapsed after 100 (law enforcement: 30 and 75)" in page
    for state in ("new", "engaged", "cooling", "lapsed"):
        assert f'aria-describedby="health-meaning-{state}"' in page
        assert f'id="health-meaning-{state}"' in page
