"""Reports and CSVs read by people (issue 21, item 14): times in the reader's zone (ISO 8601
with the offset, no microseconds, in CSV), a label column beside each code column, file names
dated in the reader's local date, periods that include today and say so, and a coverage report
filtered to a region that lists that region only. Every CSV is parsed with the csv module."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from crm.services import exports, reports
from tests.reports import dataset
from tests.support import factories as f

AUCKLAND = "Pacific/Auckland"  # UTC+13 in December: its day starts 11 hours before UTC's
#: ten minutes before midnight UTC: already the next day in Auckland
LATE_UTC = datetime(2026, 12, 2, 23, 50, 7, 123456, tzinfo=UTC)
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.data[:300]
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def _filename(response) -> str:
    response.get_data()  # stream it to the end, inside the request it belongs to
    return re.search(r'filename="([^"]+)"', response.headers["Content-Disposition"]).group(1)


@pytest.fixture
def kiwi(db):
    """A staff member in Auckland with a partner and an interaction logged at LATE_UTC."""
    user = f.make_user("staff", name="Kiri", timezone=AUCKLAND)
    partner = f.make_partner(user, name="Pacific Travel Watch", country="NZ",
                             sector="travel_tourism", stage="agreement")
    f.make_interaction(partner, user, kind="training", occurred_at=LATE_UTC,
                       summary="=cmd|' /C calc'!A0")
    db.session.commit()
    return user


# --- exports -------------------------------------------------------------------------

def test_partner_export_has_codes_and_labels_and_local_times(client, login_as, kiwi):
    login_as(kiwi)
    [row] = _csv(client.get("/exports/partners.csv"))
    assert (row["sector"], row["sector_label"]) == ("travel_tourism", "Travel & tourism")
    assert (row["stage"], row["stage_label"]) == ("agreement", "Agreement")
    assert (row["country"], row["country_name"]) == ("NZ", "New Zealand")
    # 23:50:07.123456 UTC is 12:50:07 the next day in Auckland; no microseconds
    assert row["last_interaction_at"] == "2026-12-03T12:50:07+13:00"


def test_interaction_export_has_kind_label_and_local_time(client, login_as, kiwi):
    login_as(kiwi)
    [row] = _csv(client.get("/exports/interactions.csv"))
    assert (row["kind"], row["kind_label"]) == ("training", "Training")
    assert row["occurred_at"] == "2026-12-03T12:50:07+13:00"
    assert ISO_WITH_OFFSET.match(row["occurred_at"])
    assert row["summary"].startswith("'=")  # formula protection still on


def test_interaction_export_days_are_the_readers_days(client, login_as, kiwi):
    login_as(kiwi)
    # the interaction happened on 3 December in Auckland (2 December in UTC)
    assert len(_csv(client.get("/exports/interactions.csv?since=2026-12-03"))) == 1
    assert _csv(client.get("/exports/interactions.csv?until=2026-12-02")) == []
    assert len(_csv(client.get("/exports/interactions.csv?until=2026-12-03"))) == 1


def test_label_columns_are_neutralised_too(db, client, login_as):
    admin = f.make_user("admin")
    f.make_partner(admin, name="@evil", description="-1+1")
    login_as(admin)
    cells = [cell for row in csv.reader(io.StringIO(
        client.get("/exports/partners.csv").data.decode("utf-8-sig"))) for cell in row]
    assert "'@evil" in cells and "'-1+1" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@")]


def test_export_file_name_is_the_readers_local_date(client, login_as, kiwi):
    with time_machine.travel(LATE_UTC, tick=False):
        login_as(kiwi)
        response = client.get("/exports/partners.csv")
    # 2 December in UTC, but already 3 December (12:50) in Auckland
    assert _filename(response) == "partners-20261203-1250.csv"
    assert exports.filename("contacts", "America/Bogota", LATE_UTC) == "contacts-20261202-1850.csv"


# --- report CSVs and pages --------------------------------------------------------------

def test_report_file_names_use_the_readers_days(client, login_as, kiwi):
    with time_machine.travel(LATE_UTC, tick=False):
        login_as(kiwi)
        engagement = _filename(client.get("/reports/engagement.csv?period=last_30"))
        coverage = _filename(client.get("/reports/coverage.csv"))
        page = client.get("/reports/?report=engagement&period=last_30").get_data(as_text=True)
    # the last 30 days in Auckland: 4 Nov to 3 Dec (today there), as the page says
    assert engagement == "report-engagement-20261104-20261203.csv"
    assert "04 Nov 2026 – 03 Dec 2026 (today included)" in page
    assert coverage == "report-coverage-20261203.csv"


def test_engagement_csv_times_in_the_readers_zone(client, login_as, kiwi):
    with time_machine.travel(LATE_UTC, tick=False):
        login_as(kiwi)
        rows = _csv(client.get("/reports/engagement.csv?period=last_30"))
    sector = next(r for r in rows if r["dimension"] == "sector")
    assert (sector["key"], sector["label"]) == ("travel_tourism", "Travel & tourism")
    assert sector["interactions"] == "1"  # logged "today" in Auckland: counted
    assert sector["period_start"] == "2026-11-04T00:00:00+13:00"
    assert sector["period_end"] == "2026-12-04T00:00:00+13:00"  # the midnight after today
    assert (sector["first_day"], sector["last_day"]) == ("2026-11-04", "2026-12-03")
    country = next(r for r in rows if r["dimension"] == "country")
    assert (country["key"], country["label"]) == ("NZ", "New Zealand")


def test_silence_csv_has_labels_and_local_times(db, client, login_as):
    user = f.make_user("staff", timezone=AUCKLAND)
    partner = f.make_partner(user, name="Quiet Ministry", country="FJ", sector="government",
                             stage="dialogue")
    f.make_interaction(partner, user, occurred_at=LATE_UTC - timedelta(days=400))
    login_as(user)
    [row] = _csv(client.get("/reports/silence.csv"))
    assert (row["sector"], row["sector_label"]) == ("government", "Government")
    assert (row["stage"], row["stage_label"]) == ("dialogue", "Dialogue")
    assert (row["country"], row["country_name"]) == ("FJ", "Fiji")
    assert (row["health"], row["health_label"]) == ("lapsed", "Lapsed")
    # 400 days before LATE_UTC: 28 October 2025 23:50 UTC, 29 October 12:50 in Auckland
    assert row["last_interaction_at"] == "2025-10-29T12:50:07+13:00"


def test_period_includes_today_and_the_page_says_so(db, client, login_as):
    now = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    period = reports.period_from({"period": "last_30"}, "UTC", now)
    assert period.includes(now) and period.last_day("UTC").isoformat() == "2026-12-02"
    assert (period.end - period.start).days == 30
    user = f.make_user("staff")
    login_as(user)
    page = client.get("/reports/?report=engagement").get_data(as_text=True)
    assert "(today included)" in page and 'id="period-rule"' in page
    past = client.get("/reports/", query_string={"report": "engagement", **dataset.PERIOD})
    assert "(today included)" not in past.get_data(as_text=True)  # January 2025 is over


# --- coverage filtered to a region --------------------------------------------------------

@pytest.fixture
def net(db):
    net = dataset.build()
    f.make_partner(net.bob, name="Mexico Police", country="MX", sector="law_enforcement")
    db.session.commit()
    return net


def test_coverage_filtered_to_a_region_lists_that_region_only(net):
    data = reports.coverage(net.admin, reports.Filters(region="Americas"))
    assert data["regions"] == ["Americas"]
    sectors = [s["sector"] for s in data["sectors"]]
    assert dict(zip(sectors, data["cells"][0], strict=True))["government"] == 1
    assert data["row_totals"] == [2] and sum(data["col_totals"]) == 2
    countries_listed = {c for gap in data["gaps"] for c in gap["countries"]}
    assert countries_listed == {"BR", "MX"}
    only = reports.coverage(net.admin, reports.Filters(sector="government"))
    assert [s["sector"] for s in only["sectors"]] == ["government"]
    assert all(len(row) == 1 for row in only["cells"])


def test_coverage_page_and_csv_for_a_region(client, login_as, net):
    login_as(net.manager)
    page = client.get("/reports/?report=coverage&region=Americas").get_data(as_text=True)
    body = page[page.index('id="coverage-matrix"'):page.index("</table>")]
    assert '<th scope="row" class="text-nowrap">Americas</th>' in body
    for other in ("Africa", "Asia", "Europe", "Oceania"):
        assert f">{other}<" not in body
    text = client.get("/reports/coverage.csv?region=Americas").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[0] for r in rows[1:3]] == ["Americas", "total"]
    gaps = rows[rows.index([]) + 1:]
    assert gaps[0] == ["sector", "sector_label", "countries_without_live_partner",
                       "country_names"]
    media = next(r for r in gaps if r[0] == "media")
    assert media == ["media", "Media", "BR; MX", "Brazil; Mexico"]
