"""Agreement reports: expiring agreements (filters, visibility, CSV guarded and audited),
reporting compliance by kind and region, The Code's criteria by status."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from crm.models import AuditEvent
from crm.models.agreement import AgreementReport, CodeCriterion
from crm.services import agreement_reports as ar
from tests.agreement_reminders.helpers import insert_agreements, make_agreement
from tests.support.http import login

TODAY = date.today()


@pytest.fixture
def world(db, make):
    owner = make.make_user(name="Olga Owner")
    other = make.make_user(name="Sam Staff")
    manager = make.make_user(role="manager", region_scope="Asia")
    thai = make.make_partner(owner=owner, name="Thai Hotels", country="TH",
                             sector="travel_tourism")
    kenya = make.make_partner(owner=other, name="Kenya Tours", country="KE",
                              sector="travel_tourism")
    police = make.make_partner(owner=other, name="Secret Police", country="TH",
                               sector="law_enforcement", sensitivity="restricted")
    code = make_agreement(thai, kind="the_code", title="=HYPERLINK(\"http://x\")",
                          expires_on=TODAY + timedelta(days=20),
                          next_report_due_on=TODAY - timedelta(days=5))
    make_agreement(kenya, kind="the_code", title="Kenya Code",
                   expires_on=TODAY + timedelta(days=60))
    make_agreement(police, title="Police MoU", expires_on=TODAY + timedelta(days=10))
    make_agreement(thai, title="Old MoU", expires_on=TODAY + timedelta(days=5),
                   status="terminated")
    make_agreement(thai, title="Later MoU", expires_on=TODAY + timedelta(days=200))
    db.session.add_all([
        AgreementReport(agreement_id=code.id, received_on=TODAY - timedelta(days=400),
                        due_on=TODAY - timedelta(days=390)),
        AgreementReport(agreement_id=code.id, received_on=TODAY - timedelta(days=30),
                        due_on=TODAY - timedelta(days=60)),
        CodeCriterion(agreement_id=code.id, number=1, status="met"),
        CodeCriterion(agreement_id=code.id, number=2, status="in_progress"),
    ])
    db.session.commit()
    return {"owner": owner, "other": other, "manager": manager, "code": code}


def _rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.data[:300]
    assert response.data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_expiring_lists_only_what_the_reader_may_see_in_the_window(app, client, world):
    other = app.test_client()
    login(other, world["owner"])
    page = other.get("/reports/agreements").get_data(as_text=True)
    assert "Kenya Code" in page and "HYPERLINK" in page
    assert "Police MoU" not in page and "Old MoU" not in page and "Later MoU" not in page
    login(client, world["manager"])  # Asia: the restricted Thai police agreement too
    page = client.get("/reports/agreements?view=expiring&region=Asia").get_data(as_text=True)
    assert "Police MoU" in page and "Kenya Code" not in page
    page = client.get("/reports/agreements?kind=mou&sector=law_enforcement").get_data(
        as_text=True)
    assert "Police MoU" in page and "HYPERLINK" not in page


def test_expiring_csv_is_guarded_filtered_and_audited(db, client, login_as, world):
    login_as(world["owner"])
    rows = _rows(client.get(f"/reports/agreements/export.csv?owner_id={world['owner'].id}"))
    assert [r["title"] for r in rows] == ["'=HYPERLINK(\"http://x\")"]
    assert rows[0]["days_left"] == "20" and rows[0]["kind_label"] == "The Code"
    event = db.session.query(AuditEvent).filter_by(
        action="export", object_type="report:agreements-expiring").one()
    assert event.actor_id == world["owner"].id and event.details["rows"] == 1


def test_bad_filters_are_named_beside_the_field(client, login_as, world):
    login_as(world["owner"])
    response = client.get("/reports/agreements?start=2026-13-01&kind=treaty&owner_id=x")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="error-start"' in page and "Unknown kind of agreement." in page
    assert "Unknown owner." in page
    assert client.get("/reports/agreements/export.csv?end=1800-01-01").status_code == 400
    assert client.get("/reports/agreements?view=nope").status_code == 404


def test_compliance_by_kind_and_region(client, login_as, world, app):
    data = ar.compliance(world["owner"], ar.Filters(TODAY - timedelta(days=364), TODAY),
                         TODAY)
    # due 60 days ago, received 30 days ago: late; due 5 days ago, not received: overdue;
    # due 390 days ago: outside the window
    [code] = data.by_kind
    assert (code.key, code.on_time, code.late, code.overdue) == ("the_code", 0, 1, 1)
    assert [(r.key, r.due) for r in data.by_region] == [("Asia", 2)]
    login_as(world["owner"])
    page = client.get("/reports/agreements?view=compliance").get_data(as_text=True)
    assert 'id="compliance-kind"' in page and "0%" in page
    rows = _rows(client.get("/reports/agreements/export.csv?view=compliance"))
    assert rows[-1]["group"] == "total" and rows[-1]["overdue_not_received"] == "1"


def test_code_criteria_by_status_and_the_stacked_chart(client, login_as, world, db):
    login_as(world["manager"])
    data = ar.code_criteria(world["manager"], ar.Filters(TODAY, TODAY, region="Asia"))
    assert data.members == 1 and data.all_met == 0
    assert data.counts[1] == {"met": 1, "not_started": 0}
    assert data.counts[2] == {"in_progress": 1, "not_started": 0}
    assert data.counts[6] == {"not_started": 1}
    page = client.get("/reports/agreements?view=code&region=Asia").get_data(as_text=True)
    assert "1 signed or active Code membership;" in page
    assert 'id="chart-criteria"' in page and "agreement-charts.js" in page
    assert 'data-number="6"' in page
    db.session.add_all([CodeCriterion(agreement_id=world["code"].id, number=n, status="met")
                        for n in range(3, 7)])
    db.session.query(CodeCriterion).filter_by(number=2).update({"status": "met"})
    db.session.commit()
    both = ar.code_criteria(world["owner"], ar.Filters(TODAY, TODAY))
    assert (both.members, both.all_met) == (2, 1)


@pytest.mark.parametrize("count", [5, 500])
def test_each_report_runs_a_fixed_number_of_statements(app, db, make, count_queries, count):
    owner = make.make_user()
    owner_id, user_model = owner.id, type(owner)
    partner = make.make_partner(owner=owner)
    insert_agreements(db, partner.id, count, kind="the_code", expires_spread=50,
                      report="CURRENT_DATE - 29")
    db.session.expunge_all()
    user = db.session.get(user_model, owner_id)
    filters = ar.Filters(TODAY - timedelta(days=60), TODAY + timedelta(days=60))
    with count_queries() as counter:
        rows, total = ar.expiring(user, filters, TODAY)
        ar.compliance(user, filters, TODAY)
        members = ar.code_criteria(user, filters).members
        listed = len(ar.code_members(user, TODAY).members)
    assert total == count and members == count and listed == 1  # one company
    assert len(counter.statements) == 1 + 2 + 2 + 1, counter.statements
