"""Reports against the hand-built network: exact numbers, visibility, constant SQL counts."""

from __future__ import annotations

import pytest

from crm.models import AuditEvent
from crm.services import reports
from tests.reports import dataset


@pytest.fixture
def net(db):
    net = dataset.build()
    dataset.with_period(net)
    dataset.set_silence(net)
    db.session.flush()
    return net


def _period(user):
    return reports.period_from(dataset.PERIOD, user.timezone)


def _by(result, dim):
    return {r.key: (r.current, r.previous) for r in result.by[dim]}


def test_period_is_whole_local_days_and_previous_is_as_long():
    period = reports.period_from(dataset.PERIOD, "UTC")
    assert period.start == dataset.JAN and period.end == dataset.JAN.replace(month=2)
    assert period.previous.start == dataset.JAN.replace(year=2024, month=12, day=1)
    bogota = reports.period_from(dataset.PERIOD, "America/Bogota")
    assert bogota.start.hour == 5  # local midnight in UTC


def test_engagement_for_admin(net):
    result = reports.engagement_report(net.admin, _period(net.admin), reports.Filters())
    assert _by(result, "sector") == {"civil_society": (4, 1), "law_enforcement": (2, 0),
                                     "technology": (0, 2)}
    assert _by(result, "region") == {"Asia": (5, 1), "Africa": (0, 2), "Europe": (1, 0)}
    assert _by(result, "country") == {"TH": (5, 1), "KE": (0, 2), "DE": (1, 0)}
    assert _by(result, "owner") == {str(net.alice.id): (5, 1), str(net.bob.id): (1, 2)}
    assert result.total == (6, 3)
    civil = next(r for r in result.by["sector"] if r.key == "civil_society")
    assert (civil.change, civil.change_pct) == (3, 300.0)


@pytest.mark.parametrize(("who", "sector", "total"), [
    ("alice", {"civil_society": (3, 1), "law_enforcement": (2, 0), "technology": (0, 2)}, (5, 3)),
    ("viewer", {"civil_society": (3, 1), "technology": (0, 2)}, (3, 3)),
    ("americas_manager", {"civil_society": (3, 1), "technology": (0, 2)}, (3, 3)),
])
def test_engagement_counts_only_visible_interactions(net, who, sector, total):
    user = getattr(net, who)
    result = reports.engagement_report(user, _period(user), reports.Filters())
    assert _by(result, "sector") == sector
    assert result.total == total


def test_engagement_filters(net):
    filters = reports.Filters(sector="civil_society")
    result = reports.engagement_report(net.admin, _period(net.admin), filters)
    assert _by(result, "sector") == {"civil_society": (4, 1)}
    result = reports.engagement_report(net.admin, _period(net.admin),
                                       reports.Filters(owner_id=net.bob.id))
    assert _by(result, "owner") == {str(net.bob.id): (1, 2)}
    result = reports.engagement_report(net.admin, _period(net.admin),
                                       reports.Filters(region="Africa"))
    assert result.total == (0, 2)


def test_silent_partners_oldest_silence_first(net):
    rows = reports.silent_partners(net.admin, reports.Filters())
    assert [(r.name, r.health) for r in rows] == [
        ("German Secret", "lapsed"), ("Kenya Tech", "lapsed"), ("Thai Police", "cooling")]
    assert rows[1].days_silent == 200 and rows[0].days_silent is None
    # alice cannot see bob's confidential partner: it is not even counted
    assert [r.name for r in reports.silent_partners(net.alice, reports.Filters())] == [
        "Kenya Tech", "Thai Police"]
    assert [r.name for r in reports.silent_partners(
        net.admin, reports.Filters(sector="law_enforcement"))] == ["Thai Police"]


def test_follow_up_performance(net):
    data = reports.follow_up_performance(net.admin, _period(net.admin), reports.Filters())
    people = {r.label: (r.on_time, r.late, r.overdue) for r in data["person"]}
    assert people == {"Alice": (1, 1, 1), "Bob": (1, 0, 1)}
    sectors = {r.key: (r.on_time, r.late, r.overdue) for r in data["sector"]}
    assert sectors == {"civil_society": (2, 1, 0), "law_enforcement": (0, 0, 1),
                       "technology": (0, 0, 1)}
    alice_row = next(r for r in data["person"] if r.label == "Alice")
    assert alice_row.on_time_pct == 50.0


def test_follow_up_performance_respects_visibility(net):
    data = reports.follow_up_performance(net.alice, _period(net.alice), reports.Filters())
    people = {r.label: (r.on_time, r.late, r.overdue) for r in data["person"]}
    assert people == {"Alice": (1, 1, 1), "Bob": (0, 0, 1)}  # bob's confidential one hidden


def test_coverage_matrix_and_gaps(net):
    data = reports.coverage(net.admin, reports.Filters())
    assert data["countries_covered"] == 3  # TH, KE, BR (DE is only a prospect)
    gaps = {g["sector"]: g["countries"] for g in data["gaps"]}
    assert gaps["civil_society"] == ["BR", "KE"]
    assert gaps["technology"] == ["BR", "TH"]
    assert gaps["media"] == ["BR", "KE", "TH"]
    only = reports.coverage(net.admin, reports.Filters(sector="government"))
    assert [g["sector"] for g in only["gaps"]] == ["government"]


def test_report_statement_counts_do_not_grow(db, net, count_queries):
    def measure():
        counts = []
        period = _period(net.manager)
        for run in (
            lambda: reports.engagement_report(net.manager, period, reports.Filters()),
            lambda: reports.silent_partners(net.manager, reports.Filters()),
            lambda: reports.follow_up_performance(net.manager, period, reports.Filters()),
            lambda: reports.coverage(net.manager, reports.Filters()),
        ):
            with count_queries() as counter:
                run()
            counts.append(counter.count)
        return counts

    small = measure()
    assert small == [4, 1, 2, 2]
    dataset.grow(net.bob, 60)
    assert measure() == small


def test_reports_pages_and_csv(db, client, login_as, net):
    login_as(net.manager)
    for name in ("engagement", "silence", "followups", "coverage"):
        page = client.get("/reports/", query_string={"report": name, **dataset.PERIOD})
        assert page.status_code == 200, name
        csv = client.get(f"/reports/{name}.csv", query_string=dataset.PERIOD)
        assert csv.status_code == 200
        assert csv.data.startswith(b"\xef\xbb\xbf")
    body = client.get("/reports/engagement.csv", query_string=dataset.PERIOD).data.decode("utf-8-sig")
    assert "sector,civil_society,Civil society,2025-01-01T00:00:00+00:00,2025-02-01T00:00:00+00:00,3,1,2,200.0" in body
    events = db.session.query(AuditEvent).filter_by(action="export").all()
    assert {e.object_type for e in events} >= {"report:engagement", "report:coverage"}


def test_report_bad_filters_answer_400_with_message(db, client, login_as, net):
    login_as(net.alice)
    page = client.get("/reports/", query_string={"period": "custom", "start": "2025-02-01",
                                                 "end": "2025-01-01"})
    assert page.status_code == 400
    assert "The end date must not be before the start date." in page.get_data(as_text=True)
    assert client.get("/reports/", query_string={"sector": "pirates"}).status_code == 400
    assert client.get("/reports/engagement.csv", query_string={"period": "forever"}).status_code == 400
    assert client.get("/reports/?report=nope").status_code == 404
