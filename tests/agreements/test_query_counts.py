"""The agreement list API and the partner page run the same number of SQL statements with 5
or 500 agreements (each with signatories, staff, reports received and, for The Code,
criteria): bulk inserts for the big case; each measured request starts from an empty
identity map, as a production request does (see tests/partners/test_query_counts.py)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import insert, select

from crm.lib import timeutil
from crm.models import (
    Agreement,
    AgreementReport,
    CodeCriterion,
    Contact,
    agreement_contacts,
    agreement_staff,
)
from tests.partners.test_query_counts import PARTNER_PAGE, TIMELINE_MORE, _counted

#: the token with its user, the count, the page, staff, criteria, the signatories the caller
#: may see, the user's reload after the commit (docs/features.md, "Agreements and The Code")
AGREEMENT_LIST_API = 7


def _bulk(db, partner, owner, n: int, contact_id: int) -> None:
    now = timeutil.now_utc()
    today = now.date()
    db.session.execute(insert(Agreement), [
        {"partner_id": partner.id, "kind": ("the_code", "mou")[i % 2], "title": f"Deal {i}",
         "status": "active", "signed_on": date(2024, 1, 1), "starts_on": date(2024, 1, 1),
         "expires_on": today + timedelta(days=i % 60 - 10), "renewal_notice_days": 90,
         "reporting_every_months": 12, "next_report_due_on": today - timedelta(days=i % 3),
         "sensitivity": partner.sensitivity, "version": 1, "created_at": now,
         "updated_at": now} for i in range(n)])
    ids = db.session.scalars(select(Agreement.id).where(
        Agreement.partner_id == partner.id)).all()
    db.session.execute(insert(agreement_contacts),
                       [{"agreement_id": i, "contact_id": contact_id} for i in ids])
    db.session.execute(insert(agreement_staff), [{"agreement_id": i, "user_id": owner.id}
                                                 for i in ids])
    db.session.execute(insert(AgreementReport), [
        {"agreement_id": i, "received_on": today - timedelta(days=k + 1), "summary": "Report",
         "created_at": now} for i in ids[:50] for k in range(2)])
    codes = db.session.scalars(select(Agreement.id).where(
        Agreement.partner_id == partner.id, Agreement.kind == "the_code")).all()
    db.session.execute(insert(CodeCriterion), [
        {"agreement_id": i, "number": k, "status": "in_progress", "updated_at": now}
        for i in codes for k in range(1, 7)])
    db.session.commit()


def test_agreement_list_api_and_partner_page_do_not_grow(client, db, make, login_as,
                                                         count_queries, token_for):
    owner = make.make_user(name="Counter")
    owner_id = owner.id
    token = token_for(owner)
    login_as(owner)
    counts = {}
    for total in (5, 500):
        from crm.models import User

        owner = db.session.get(User, owner_id)
        partner = make.make_partner(owner, name=f"Deals {total}", sensitivity="restricted")
        contact = Contact(partner_id=partner.id, name=f"Signer {total}",
                          sensitivity="restricted")
        db.session.add(contact)
        db.session.flush()
        partner_id = partner.id
        _bulk(db, partner, owner, total, contact.id)
        page, response = _counted(client, count_queries, f"/partners/{partner_id}")
        html = response.get_data(as_text=True)
        assert html.count("data-agreement=") == total and "Report received" in html
        url = f"/api/v1/agreements?partner_id={partner_id}&per_page=200"
        bearer = {"Authorization": f"Bearer {token}"}
        client.get(url, headers=bearer)  # the token's use stamp is written at most once a while
        db.session.expunge_all()
        with count_queries() as counter:
            listed = client.get(url, headers=bearer)
        assert listed.status_code == 200
        body = listed.get_json()
        assert body["total"] == total and body["items"][0]["contact_ids"]
        counts[total] = (page, counter.count)
    print(f"partner page: {counts[5][0]} statements (5 agreements), {counts[500][0]} (500); "
          f"agreement list API: {counts[5][1]} / {counts[500][1]}")
    assert counts == {5: (PARTNER_PAGE, AGREEMENT_LIST_API),
                      500: (PARTNER_PAGE, AGREEMENT_LIST_API)}
    assert TIMELINE_MORE == PARTNER_PAGE - 5  # the fragment shares the agreements statement
