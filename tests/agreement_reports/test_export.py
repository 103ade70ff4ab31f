"""The agreements CSV export beside the partner export: the partner list's filters, only the
agreements the reader may see, formula-guarded, audited."""

from __future__ import annotations

import csv
import io
from datetime import date

from crm.models import AuditEvent
from tests.agreement_reminders.helpers import make_agreement
from tests.support.http import login


def test_agreements_export_follows_the_partner_filters_and_visibility(app, db, make, client):
    owner = make.make_user()
    staff = make.make_user()
    hotel = make.make_partner(owner=owner, name="Hotel", sector="travel_tourism")
    police = make.make_partner(owner=owner, name="Police", sector="law_enforcement")
    make_agreement(hotel, kind="the_code", title="=cmd|' /C calc'!A0",
                   expires_on=date(2027, 1, 31), reporting_every_months=12)
    make_agreement(police, title="Standard MoU")
    make_agreement(police, title="Restricted MoU", sensitivity="restricted")
    db.session.commit()

    login(client, staff)
    response = client.get("/exports/agreements.csv")
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [r["title"] for r in rows] == ["'=cmd|' /C calc'!A0", "Standard MoU"]
    assert rows[0]["expires_on"] == "2027-01-31" and rows[0]["kind_label"] == "The Code"
    assert rows[0]["reporting_every_months"] == "12"
    filtered = client.get("/exports/agreements.csv?sector=law_enforcement")
    assert filtered.headers["X-Export-Rows"] == "1"
    events = db.session.query(AuditEvent).filter_by(action="export",
                                                    object_type="agreements").all()
    assert [e.details["rows"] for e in events] == [2, 1]

    owner_client = app.test_client()
    login(owner_client, owner)
    assert owner_client.get("/exports/agreements.csv").headers["X-Export-Rows"] == "3"
    page = owner_client.get("/partners/").get_data(as_text=True)
    assert "/exports/agreements.csv" in page
