"""The partner list, the partner page and the timeline fragment run the same number of
SQL statements with 10 or 500 partners / 5 or 500 interactions (bulk inserts for the big
cases). The measured counts are printed (-s) and pinned loosely by equality between sizes.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert

from crm.lib import timeutil
from crm.lib.text import name_key
from crm.models import Contact, FollowUp, Interaction, Partner, PartnerTag
from crm.services import timeline


def _bulk_partners(db, owner, n: int) -> None:
    now = timeutil.now_utc()
    rows = [{"name": f"Bulk {i:04d}", "name_key": f"bulk {i:04d}", "sector": "civil_society",
             "country": "TH", "region": "Asia", "stage": "active", "owner_id": owner.id,
             "sensitivity": ("standard", "restricted")[i % 2], "is_member": i % 3 == 0,
             "archived": False, "version": 1, "created_at": now, "updated_at": now,
             "last_interaction_at": now - timedelta(days=i % 200)} for i in range(n)]
    db.session.execute(insert(Partner), rows)
    ids = db.session.scalars(db.select(Partner.id)).all()
    db.session.execute(insert(PartnerTag), [{"partner_id": i, "tag": t} for i in ids
                                            for t in ("osec", "training")])
    db.session.commit()


@pytest.mark.parametrize("path", ["/partners/", "/partners/?sort=-last_interaction&health=active",
                                  "/partners/?q=bulk&member=0&sort=stage&tag=osec"])
def test_partner_list_statements_do_not_grow(client, db, make, login_as, count_queries, path):
    user = make.make_user()
    counts = []
    login_as(user)
    for total in (10, 500):
        db.session.execute(db.delete(PartnerTag))
        db.session.execute(db.delete(Partner))
        _bulk_partners(db, user, total)
        client.get(path)  # warm-up (first-request work is not the page's)
        with count_queries() as counter:
            response = client.get(path)
        assert response.status_code == 200
        counts.append(counter.count)
    print(f"partner list {path}: {counts[0]} statements (10 partners), {counts[1]} (500)")
    assert counts[0] == counts[1], counts
    assert counts[0] <= 8


def _bulk_history(db, partner, user, n: int) -> None:
    now = timeutil.now_utc()
    db.session.execute(insert(Interaction), [
        {"partner_id": partner.id, "kind": "meeting", "summary": f"Meeting {i}",
         "occurred_at": now - timedelta(hours=i + 1), "logged_by_id": user.id,
         "sensitivity": "standard", "version": 1, "created_at": now, "updated_at": now}
        for i in range(n)])
    db.session.execute(insert(FollowUp), [
        {"partner_id": partner.id, "title": f"Task {i}", "assignee_id": user.id,
         "created_by_id": user.id, "due_at": now + timedelta(days=i), "status": "open",
         "version": 1, "created_at": now - timedelta(minutes=30 + i), "updated_at": now}
        for i in range(min(n, 50))])
    db.session.commit()


def test_partner_page_statements_do_not_grow(client, db, make, login_as, count_queries):
    user = make.make_user()
    counts = {}
    login_as(user)
    for total in (5, 500):
        partner = make.make_partner(user, name=f"History {total}", tags=["osec"],
                                    sensitivity="restricted", collaborators=[user])
        for n in range(3):
            db.session.add(Contact(partner_id=partner.id, name=f"C{n}",
                                   sensitivity="restricted"))
        db.session.commit()
        _bulk_history(db, partner, user, total)
        client.get(f"/partners/{partner.id}")
        with count_queries() as counter:
            response = client.get(f"/partners/{partner.id}")
        assert response.status_code == 200
        assert "Task 0" in response.get_data(as_text=True)
        # the load-more fragment, from a cursor that every history has entries before
        cursor = timeline.encode_cursor(timeutil.now_utc() + timedelta(days=1), "interaction", 0)
        with count_queries() as fragment:
            more = client.get(f"/partners/{partner.id}/timeline?before={cursor}")
        assert more.status_code == 200 and "Task 0" in more.get_data(as_text=True)
        counts[total] = (counter.count, fragment.count)
    print(f"partner page: {counts[5][0]} statements (5 interactions), {counts[500][0]} (500); "
          f"timeline load-more: {counts[5][1]} / {counts[500][1]}")
    assert counts[5] == counts[500], counts
    assert counts[5][0] <= 15


def test_audit_page_statements_do_not_grow(client, db, make, login_as, count_queries):
    from crm.models import AuditEvent

    admin = make.make_user("admin")
    login_as(admin)
    counts = []
    for total in (10, 500):
        db.session.execute(insert(AuditEvent), [
            {"action": "partner.update", "actor_id": admin.id, "object_type": "partner",
             "object_id": str(i), "changes": {"stage": ["a", "b"]},
             "at": timeutil.now_utc()} for i in range(total)])
        db.session.commit()
        client.get("/admin/audit")
        with count_queries() as counter:
            assert client.get("/admin/audit").status_code == 200
        counts.append(counter.count)
    print(f"admin audit: {counts[0]} statements (10 events), {counts[1]} (510)")
    assert counts[0] == counts[1], counts


def test_name_key_helper_used_by_bulk_rows_matches_service():
    assert name_key("Bulk 0001") == "bulk 0001"
