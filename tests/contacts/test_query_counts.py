"""The contact page runs exactly the number of SQL statements docs/features.md states, with
5 or 500 interactions attended (and up to 50 follow-ups from them, logged by and assigned to
a rotation of people), as the partner's owner and as an administrator (whose page has the
personal-data panel too); bulk inserts for the big case.

The measured request starts from an empty identity map (`expunge_all`), as a production
request does, so a per-row lazy load would show as more statements.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from crm.lib import timeutil
from crm.models import FollowUp, Interaction, User, interaction_contacts

#: statements per request, as docs/features.md ("Query counts") states them: the sign-in
#: lookup, the contact (its partner joined), the page of interactions (who logged them
#: joined), their count, the open follow-ups (assignees joined), the audit event of viewing a
#: restricted contact, and the signed-in user's reload by the security-headers hook
CONTACT_PAGE = 7
#: an administrator's request reads the two-factor policy as well (the panel costs nothing)
CONTACT_PAGE_ADMIN = 8


def _bulk_attended(db, partner, contact, people: list[int], n: int) -> None:
    now = timeutil.now_utc()
    first = db.session.scalar(select(Interaction.id).order_by(Interaction.id.desc())) or 0
    db.session.execute(insert(Interaction), [
        {"partner_id": partner.id, "kind": "meeting", "summary": f"Attended {i}",
         "occurred_at": now - timedelta(hours=i + 1), "logged_by_id": people[i % len(people)],
         "sensitivity": "restricted", "version": 1, "created_at": now, "updated_at": now}
        for i in range(n)])
    ids = db.session.scalars(select(Interaction.id).where(Interaction.id > first)).all()
    db.session.execute(insert(interaction_contacts),
                       [{"interaction_id": i, "contact_id": contact.id} for i in ids])
    db.session.execute(insert(FollowUp), [
        {"partner_id": partner.id, "interaction_id": ids[i], "title": f"Task {i}",
         "assignee_id": people[i % len(people)], "created_by_id": people[0],
         "due_at": now + timedelta(days=i), "status": "open", "sensitivity": "restricted",
         "version": 1, "created_at": now, "updated_at": now}
        for i in range(min(n, 50))])
    db.session.commit()


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_contact_page_statements_do_not_grow(client, db, make, login_as, count_queries, role):
    user = make.make_user(role)
    user_id = user.id
    login_as(user)
    counts = {}
    for total in (5, 500):
        user = db.session.get(User, user_id)
        owner = user if role == "staff" else make.make_user()
        partner = make.make_partner(owner, name=f"Attended {total}", sensitivity="restricted")
        contact = make.make_contact(partner, name=f"Person {total}", do_not_contact=True,
                                    lawful_basis="consent")
        db.session.commit()
        people = [user_id, *(make.make_user(name=f"Colleague {total}-{n}").id
                             for n in range(6))]
        _bulk_attended(db, partner, contact, people, total)
        path = f"/contacts/{contact.id}"
        db.session.expunge_all()
        with count_queries() as counter:
            response = client.get(path)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert "Attended 0" in body and "Task 0" in body and f"Colleague {total}-" in body
        counts[total] = counter.count
    if role == "admin":
        assert "Download personal data" in body  # the panel was there, and cost nothing
    print(f"contact page ({role}): {counts[5]} statements (5 interactions), {counts[500]} (500)")
    pinned = CONTACT_PAGE_ADMIN if role == "admin" else CONTACT_PAGE
    assert counts == {5: pinned, 500: pinned}, counts
