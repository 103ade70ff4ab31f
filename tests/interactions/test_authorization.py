"""Authorization matrix: every route of the interactions and follow-ups blueprints ×
{owner, collaborator, other staff, manager in region, manager outside region, admin, viewer}
× {standard, restricted, confidential}.

Invisible records answer 404, a viewer's write answers 403, everything else works. Each
refused write is checked on its own: every table is as it was before it (the audit event
recording the refusal aside). Every route of the two blueprints that names a record must be
in `_routes` (or in `NO_RECORD`, with the reason), so a new one fails until it is added.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.lib import timeutil
from crm.models import FollowUp, Interaction
from tests.support import matrix, snapshot
from tests.support.http import csrf_token

ROLES = ("owner", "collaborator", "other_staff", "manager_in_region", "manager_outside",
         "admin", "viewer")
SENSITIVITIES = ("standard", "restricted", "confidential")

#: who sees a partner (and its records) of each sensitivity
SEES = {
    "standard": set(ROLES),
    "restricted": {"owner", "collaborator", "manager_in_region", "admin"},
    "confidential": {"owner", "admin"},
}


def _world(make, sensitivity):
    owner = make.make_user(name="Owner")
    collaborator = make.make_user(name="Collaborator")
    users = {
        "owner": owner,
        "collaborator": collaborator,
        "other_staff": make.make_user(),
        "manager_in_region": make.make_user(role="manager", region_scope="Asia"),
        "manager_outside": make.make_user(role="manager", region_scope="Europe"),
        "admin": make.make_user(role="admin"),
        "viewer": make.make_user(role="viewer"),
    }
    partner = make.make_partner(owner=owner, country="TH", sensitivity=sensitivity,
                                collaborators=[collaborator])
    contact = make.make_contact(partner)
    interaction = make.make_interaction(partner, owner, sensitivity=sensitivity)
    fus = {name: make.make_follow_up(partner, owner, title=name)
           for name in ("complete", "snooze", "cancel", "reassign")}
    fus["reopen"] = make.make_follow_up(partner, owner, title="reopen", status="done",
                                        completed_at=timeutil.now_utc())
    return users, partner, contact, interaction, fus


def _routes(partner, contact, interaction, fus, owner):
    """(name, method, path, data, success code, is it a write?)"""
    edit = f"/interactions/{interaction.id}/edit"
    return [
        ("log form", "GET", f"/interactions/new?partner_id={partner.id}", None, 200, True),
        ("log", "POST", "/interactions/new",
         {"partner_id": partner.id, "kind": "call", "occurred_at": "2026-01-02T10:00",
          "summary": "Matrix", "contact_ids": contact.id, "sensitivity": ""}, 302, True),
        ("partner fields", "GET", f"/interactions/partner-fields?partner_id={partner.id}",
         None, 200, True),
        ("edit form", "GET", edit, None, 200, True),
        ("edit", "POST", edit, {"kind": "meeting", "occurred_at": "2026-01-03T10:00",
                                "summary": "Edited", "sensitivity": partner.sensitivity},
         302, True),
        ("add follow-up form", "GET", f"/follow-ups/new?partner_id={partner.id}", None, 200,
         True),
        ("add follow-up", "POST", "/follow-ups/new",
         {"partner_id": partner.id, "title": "Matrix", "due": "2026-03-01",
          "assignee_id": owner.id}, 302, True),
        ("complete", "POST", f"/follow-ups/{fus['complete'].id}/complete", {}, 302, True),
        ("snooze", "POST", f"/follow-ups/{fus['snooze'].id}/snooze", {"days": "1"}, 302, True),
        ("cancel", "POST", f"/follow-ups/{fus['cancel'].id}/cancel", {}, 302, True),
        ("reopen", "POST", f"/follow-ups/{fus['reopen'].id}/reopen", {}, 302, True),
        ("reassign form", "GET", f"/follow-ups/{fus['reassign'].id}/reassign", None, 200,
         True),
        ("reassign", "POST", f"/follow-ups/{fus['reassign'].id}/reassign",
         {"assignee_id": owner.id}, 302, True),
    ]


@pytest.mark.parametrize("sensitivity", SENSITIVITIES)
@pytest.mark.parametrize("role", ROLES)
def test_matrix(client, db, make, login_as, role, sensitivity):
    users, partner, contact, interaction, fus = _world(make, sensitivity)
    owner = users["owner"]
    routes = _routes(partner, contact, interaction, fus, owner)
    login_as(users[role])
    token = csrf_token(client, "/follow-ups/")
    visible = role in SEES[sensitivity]
    outcomes = {}
    unchanged = {}
    for name, method, path, data, ok, is_write in routes:
        expected = 403 if (is_write and role == "viewer") else (ok if visible else 404)
        before = snapshot.take(db) if method == "POST" and expected in (403, 404) else None
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(path, data={**{k: str(v) for k, v in data.items()},
                                               "csrf_token": token})
        outcomes[name] = (response.status_code, expected)
        if before is not None:
            unchanged[name] = snapshot.unchanged_but_refusals(db, before, snapshot.take(db))
    wrong = {k: v for k, v in outcomes.items() if v[0] != v[1]}
    assert not wrong, f"(got, expected) for {role}/{sensitivity}: {wrong}"
    changed = {k: v for k, v in unchanged.items() if v}
    assert not changed, f"refused writes changed rows for {role}/{sensitivity}: {changed}"

    # refused requests changed nothing
    db.session.expire_all()
    statuses = dict(db.session.execute(select(FollowUp.title, FollowUp.status)).all())
    logged = db.session.scalar(select(func.count()).select_from(Interaction))
    if visible and role != "viewer":
        assert statuses["complete"] == "done" and statuses["cancel"] == "cancelled"
        assert statuses["reopen"] == "open"
        assert logged == 2
    else:
        assert statuses["complete"] == "open" and statuses["cancel"] == "open"
        assert statuses["reopen"] == "done"
        assert logged == 1
        assert db.session.get(Interaction, interaction.id).summary == "Discussed next steps"


#: routes of the two blueprints that name no record (the route matrix,
#: tests/security/test_route_matrix.py, covers them by role), and why they are not here
NO_RECORD = {
    "interactions.people_search": "searches people, not records",
    "interactions.other_people": "searches people, not records",
    "followups.index": "lists, tested by test_follow_up_lists",
    "followups.counts": "counts the user's own follow-ups",
    "followups.upcoming_reminders": "the user's own reminders",
    "followups.email_action": "a signed link for the assignee (tests/reminders)",
}


def test_every_record_route_is_in_the_matrix(app, db, make):
    users, partner, contact, interaction, fus = _world(make, "standard")
    routes = _routes(partner, contact, interaction, fus, users["owner"])
    done = matrix.covered(app, [(method, path) for _name, method, path, *_ in routes])
    missing = matrix.uncovered(app, ("interactions", "followups"), done, NO_RECORD)
    assert not missing, ("add these to _routes in tests/interactions/test_authorization.py "
                         f"(or to NO_RECORD with the reason): {missing}")


@pytest.mark.parametrize("role", ROLES)
def test_follow_up_lists(client, db, make, login_as, role):
    users, *_ = _world(make, "standard")
    login_as(users[role])
    assert client.get("/follow-ups/").status_code == 200
    team = client.get("/follow-ups/?scope=team").status_code
    assert team == (200 if role in ("manager_in_region", "manager_outside", "admin") else 403)


def test_assignee_sees_own_follow_up_of_partner_they_no_longer_see(client, db, make, login_as):
    """An assignee who lost access still sees and can close their follow-up (access rule)."""
    owner = make.make_user()
    helper = make.make_user()
    partner = make.make_partner(owner=owner, sensitivity="restricted")
    fu = make.make_follow_up(partner, helper, title="Left over")
    login_as(helper)
    page = client.get("/follow-ups/").get_data(as_text=True)
    assert "Left over" in page
    # … but never more than they may see: not the partner's name
    assert partner.name not in page and "a restricted partner" in page
    assert partner.name not in client.get(f"/follow-ups/{fu.id}/reassign").get_data(as_text=True)
    token = csrf_token(client, "/follow-ups/")
    assert client.post(f"/follow-ups/{fu.id}/complete",
                       data={"csrf_token": token}).status_code == 302
