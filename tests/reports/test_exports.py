"""CSV exports: filtered as on screen, visible rows only, BOM, neutralised, audited."""

from __future__ import annotations

import csv
import io

import pytest

from crm.models import AuditEvent
from tests.reports import dataset
from tests.support import factories as f


@pytest.fixture
def net(db):
    net = dataset.build()
    p = net.p
    f.make_contact(p[1], name="Ana Public", email="ana@example.net")
    f.make_contact(p[1], name="Hidden Source", email="src@example.net", sensitivity="restricted")
    f.make_contact(p[4], name="Secret Person", email="secret@example.net")
    f.make_interaction(p[1], net.alice, summary="=HYPERLINK(\"http://evil\")")
    f.make_interaction(p[2], net.alice, summary="Police meeting", sensitivity="restricted")
    f.make_interaction(p[4], net.bob, summary="Confidential chat", sensitivity="confidential")
    f.make_partner(net.alice, name="+Plus Org", country="TH", sector="media")
    db.session.commit()
    return net


def _rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.data[:300]
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_partners_export_is_visible_only_and_audited(db, client, login_as, net):
    login_as(net.alice)
    rows = _rows(client.get("/exports/partners.csv"))
    names = {r["name"] for r in rows}
    assert names == {"Thai Civil", "Thai Police", "Kenya Tech", "Brazil Gov", "'+Plus Org"}
    event = db.session.query(AuditEvent).filter_by(action="export", object_type="partners").one()
    assert event.actor_id == net.alice.id
    assert event.details["rows"] == 5 and event.details["filters"] == {}


def test_partners_export_uses_the_list_filters(db, client, login_as, net):
    login_as(net.admin)
    rows = _rows(client.get("/exports/partners.csv?sector=civil_society&country=&sort=-name"))
    assert [r["name"] for r in rows] == ["Thai Civil", "German Secret"]
    assert rows[0]["country_name"] == "Thailand" and rows[0]["region"] == "Asia"
    event = db.session.query(AuditEvent).filter_by(action="export").one()
    assert event.details == {"filters": {"sector": "civil_society", "sort": "-name"},
                             "rows": 2, "format": "csv"}
    archived = _rows(client.get("/exports/partners.csv?archived=1"))
    assert [r["name"] for r in archived] == ["French Media"]


def test_viewer_export_has_standard_records_only(db, client, login_as, net):
    login_as(net.viewer)
    partners = {r["name"] for r in _rows(client.get("/exports/partners.csv"))}
    assert "Thai Police" not in partners and "German Secret" not in partners
    contacts = {r["name"] for r in _rows(client.get("/exports/contacts.csv"))}
    assert contacts == {"Ana Public"}
    interactions = _rows(client.get("/exports/interactions.csv"))
    assert [r["summary"] for r in interactions] == ["'=HYPERLINK(\"http://evil\")"]


def test_contacts_and_interactions_follow_partner_filter(db, client, login_as, net):
    login_as(net.admin)
    contacts = _rows(client.get("/exports/contacts.csv?country=TH"))
    assert {r["name"] for r in contacts} == {"Ana Public", "Hidden Source"}
    interactions = _rows(client.get("/exports/interactions.csv?sector=civil_society"))
    assert {r["summary"] for r in interactions} == {"'=HYPERLINK(\"http://evil\")",
                                                     "Confidential chat"}
    none = _rows(client.get("/exports/interactions.csv?since=2999-01-01"))
    assert none == []


def test_bad_filter_is_400_not_500(db, client, login_as, net):
    login_as(net.alice)
    response = client.get("/exports/partners.csv?sector=pirates")
    assert response.status_code == 400
    assert b"sector" in response.data
    assert client.get("/exports/interactions.csv?since=yesterday").status_code == 400
    assert db.session.query(AuditEvent).filter_by(action="export").count() == 0


def test_export_requires_sign_in(client, net):
    assert client.get("/exports/partners.csv").status_code == 302


def test_export_statement_count_is_constant(db, client, login_as, net, count_queries):
    login_as(net.admin)

    def measure():
        db.session.expire_all()
        with count_queries() as counter:
            _rows(client.get("/exports/partners.csv"))
        return counter.count

    small = measure()
    dataset.grow(net.admin, 30)
    db.session.commit()
    assert measure() == small
