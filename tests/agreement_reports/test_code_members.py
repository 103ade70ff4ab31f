"""The Code members view: members by country and region (map data and tables), the share
meeting all six criteria, reports overdue, only what the reader may see."""

from __future__ import annotations

from datetime import date, timedelta

from crm.models.agreement import CodeCriterion
from tests.agreement_reminders.helpers import make_agreement
from tests.support.http import login

TODAY = date.today()


def test_members_by_country_share_all_met_and_overdue(app, db, make, client):
    owner = make.make_user()
    viewer = make.make_user(role="viewer")
    hotel = make.make_partner(owner=owner, name="Bangkok Hotels", country="TH")
    tours = make.make_partner(owner=owner, name="Safari Tours", country="KE")
    secret = make.make_partner(owner=owner, name="Hidden Airline", country="KE",
                               sensitivity="restricted")
    old = make.make_partner(owner=owner, name="Former Member", country="FR")
    full = make_agreement(hotel, kind="the_code", title="Code",
                          next_report_due_on=TODAY + timedelta(days=90))
    make_agreement(tours, kind="the_code", title="Code",
                   next_report_due_on=TODAY - timedelta(days=3))
    make_agreement(secret, kind="the_code", title="Code")
    make_agreement(old, kind="the_code", title="Code", status="terminated")
    make_agreement(old, kind="mou", title="Not the Code")
    db.session.add_all([CodeCriterion(agreement_id=full.id, number=n, status="met")
                        for n in range(1, 7)])
    db.session.commit()

    login(client, viewer)
    page = client.get("/agreements/code-members").get_data(as_text=True)
    assert 'id="members-count">2<' in page and 'id="overdue-count">1<' in page
    assert "50%" in page and "1 of 2" in page and "report overdue" in page
    assert "Hidden Airline" not in page and "Former Member" not in page
    assert 'id="chart-map"' in page and "js/dashboard.js" in page
    data = client.get("/agreements/code-members/countries.json").get_json()
    assert sorted((c["country"], c["count"]) for c in data["countries"]) == [("KE", 1),
                                                                              ("TH", 1)]
    assert {"none_colour", "legend", "max"} <= set(data)

    owner_client = app.test_client()
    login(owner_client, owner)
    page = owner_client.get("/agreements/code-members").get_data(as_text=True)
    assert 'id="members-count">3<' in page and "Hidden Airline" in page
    first = owner_client.get("/agreements/code-members/countries.json").get_json()[
        "countries"][0]
    assert (first["country"], first["name"], first["count"]) == ("KE", "Kenya", 2)
