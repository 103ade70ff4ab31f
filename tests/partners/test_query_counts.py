"""The partner list, the partner page, the timeline fragment and the admin audit page run
exactly the number of SQL statements docs/features.md states, with 10 or 500 partners /
5 or 500 interactions / 10 or 500 audit events (bulk inserts for the big cases).

Each measured request starts from an empty identity map (`expunge_all`), as a production
request does: the test shares the app's session, and rows a previous request loaded would
otherwise answer lazy loads from memory and hide a per-row query.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert

from crm.lib import timeutil
from crm.lib.text import name_key
from crm.models import Contact, FollowUp, Interaction, Partner, PartnerTag, User
from crm.services import timeline

#: statements per request, as docs/features.md ("Query counts") states them. Each includes
#: the signed-in user's sign-in lookup and, after the request's commit expired it, the
#: user's reload by the security-headers hook. The page and the timeline fragment each run one
#: statement for agreements (issue 15: the partner's visible agreements with the page's
#: reports received, which is also the page's agreements panel).
PARTNER_LIST = 5
PARTNER_PAGE = 15
TIMELINE_MORE = 10
#: the sign-in, the two-factor policy, the page of events (actors joined), its count, the
#: user filter's list, the object-type filter's list, the names the rows mention, the reload
AUDIT_PAGE = 8


def _counted(client, count_queries, path: str):
    """One request's statements, from an empty identity map; the response is returned too."""
    from crm.extensions import db

    db.session.expunge_all()
    with count_queries() as counter:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return counter.count, response


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
    user_id = user.id
    counts = []
    login_as(user)
    for total in (10, 500):
        db.session.execute(db.delete(PartnerTag))
        db.session.execute(db.delete(Partner))
        _bulk_partners(db, db.session.get(User, user_id), total)
        count, response = _counted(client, count_queries, path)
        assert "Bulk 0" in response.get_data(as_text=True)
        counts.append(count)
    print(f"partner list {path}: {counts[0]} statements (10 partners), {counts[1]} (500)")
    assert counts == [PARTNER_LIST, PARTNER_LIST], counts


def _bulk_history(db, partner, user, n: int, colleagues: list[int]) -> None:
    """`n` interactions and up to 50 follow-ups, logged by / assigned to a rotation of people
    (a per-row load of a person would show as more statements, not be answered from memory)."""
    now = timeutil.now_utc()
    people = [user.id, *colleagues]
    db.session.execute(insert(Interaction), [
        {"partner_id": partner.id, "kind": "meeting", "summary": f"Meeting {i}",
         "occurred_at": now - timedelta(hours=i + 1), "logged_by_id": people[i % len(people)],
         "sensitivity": "standard", "version": 1, "created_at": now, "updated_at": now}
        for i in range(n)])
    db.session.execute(insert(FollowUp), [
        {"partner_id": partner.id, "title": f"Task {i}", "assignee_id": people[i % len(people)],
         "created_by_id": people[-1 - i % len(people)], "due_at": now + timedelta(days=i), "status": "open",
         "version": 1, "created_at": now - timedelta(minutes=30 + i), "updated_at": now}
        for i in range(min(n, 50))])
    db.session.commit()


def test_partner_page_statements_do_not_grow(client, db, make, login_as, count_queries):
    user = make.make_user()
    counts = {}
    login_as(user)
    user_id = user.id
    for total in (5, 500):
        user = db.session.get(User, user_id)
        partner = make.make_partner(user, name=f"History {total}", tags=["osec"],
                                    sensitivity="restricted", collaborators=[user])
        for n in range(3):
            db.session.add(Contact(partner_id=partner.id, name=f"C{n}",
                                   sensitivity="restricted"))
        db.session.commit()
        partner_id = partner.id
        colleagues = [make.make_user(name=f"Colleague {total}-{n}").id for n in range(6)]
        _bulk_history(db, partner, user, total, colleagues)
        page, response = _counted(client, count_queries, f"/partners/{partner_id}")
        assert "Task 0" in response.get_data(as_text=True)
        # the load-more fragment, from a cursor that every history has entries before
        cursor = timeline.encode_cursor(timeutil.now_utc() + timedelta(days=1), "interaction", 0)
        fragment, more = _counted(client, count_queries,
                                  f"/partners/{partner_id}/timeline?before={cursor}")
        assert "Task 0" in more.get_data(as_text=True)
        counts[total] = (page, fragment)
    print(f"partner page: {counts[5][0]} statements (5 interactions), {counts[500][0]} (500); "
          f"timeline load-more: {counts[5][1]} / {counts[500][1]}")
    assert counts == {5: (PARTNER_PAGE, TIMELINE_MORE), 500: (PARTNER_PAGE, TIMELINE_MORE)}


def test_audit_page_statements_do_not_grow(client, db, make, login_as, count_queries):
    from crm.models import AuditEvent

    admin = make.make_user("admin")
    login_as(admin)
    counts = []
    db.session.expunge_all()
    for total in (10, 500):
        # each size its own actors, so the names a page shows are loaded at each size
        actors = [make.make_user(name=f"Actor {total}-{n}") for n in range(min(total, 25))]
        db.session.execute(insert(AuditEvent), [
            {"action": "partner.update", "actor_id": actors[i % len(actors)].id,
             "object_type": "partner", "object_id": str(i), "changes": {"stage": ["a", "b"]},
             "at": timeutil.now_utc()} for i in range(total)])
        db.session.commit()
        count, response = _counted(client, count_queries, "/admin/audit")
        assert f"Actor {total}-" in response.get_data(as_text=True)
        counts.append(count)
    print(f"admin audit: {counts[0]} statements (10 events), {counts[1]} (510)")
    assert counts == [AUDIT_PAGE, AUDIT_PAGE], counts


def test_name_key_helper_used_by_bulk_rows_matches_service():
    assert name_key("Bulk 0001") == "bulk 0001"
