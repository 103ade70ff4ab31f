"""The authorization matrix of the relationship-management issue, through the API.

{owner, collaborator, other staff, manager in region, manager outside region, admin,
viewer} × {standard, restricted, confidential}: what a token sees (200 / 404, lists
included) and what it may change (200 / 403 / 404 with nothing written).
"""

from __future__ import annotations

import pytest

from crm.models import Partner

from .conftest import assert_error

ROLES = ("owner", "collaborator", "other_staff", "manager_in_region", "manager_outside",
         "admin", "viewer")
SEES = {
    "standard": set(ROLES),
    "restricted": {"owner", "collaborator", "manager_in_region", "admin"},
    "confidential": {"owner", "admin"},
}


@pytest.fixture
def world(make, db, token_for):
    users = {
        "owner": make.make_user(role="staff"),
        "collaborator": make.make_user(role="staff"),
        "other_staff": make.make_user(role="staff"),
        "manager_in_region": make.make_user(role="manager", region_scope="Asia"),
        "manager_outside": make.make_user(role="manager", region_scope="Europe"),
        "admin": make.make_user(role="admin"),
        "viewer": make.make_user(role="viewer"),
    }
    partners = {
        level: make.make_partner(owner=users["owner"], country="TH", sensitivity=level,
                                 collaborators=[users["collaborator"]])
        for level in SEES
    }
    interactions = {level: make.make_interaction(p, logged_by=users["owner"])
                    for level, p in partners.items()}
    db.session.commit()
    tokens = {role: token_for(user) for role, user in users.items()}
    return users, partners, interactions, tokens


@pytest.mark.parametrize("role", ROLES)
def test_reads_follow_the_visibility_rule(api, world, role):
    _users, partners, interactions, tokens = world
    token = tokens[role]
    listed = {p["id"] for p in api.get("/partners", token).get_json()["items"]}
    logged = {i["id"] for i in api.get("/interactions", token).get_json()["items"]}
    for level, partner in partners.items():
        visible = role in SEES[level]
        response = api.get(f"/partners/{partner.id}", token)
        assert response.status_code == (200 if visible else 404), (role, level)
        if not visible:
            assert_error(response, 404, "not_found")
        assert (partner.id in listed) is visible, (role, level)
        assert (interactions[level].id in logged) is visible, (role, level)
        contacts = api.get(f"/partners/{partner.id}/contacts", token)
        assert contacts.status_code == (200 if visible else 404)


@pytest.mark.parametrize("role", ROLES)
def test_writes_follow_the_visibility_rule_and_roles(api, world, role, db):
    _users, partners, _interactions, tokens = world
    token = tokens[role]
    for level, partner in partners.items():
        response = api.patch(f"/partners/{partner.id}", token,
                             json={"description": f"edited by {role}"})
        if role == "viewer":
            assert_error(response, 403, "forbidden")
        elif role in SEES[level]:
            assert response.status_code == 200, (role, level, response.get_json())
        else:
            assert_error(response, 404, "not_found")
        db.session.expire_all()
        written = db.session.get(Partner, partner.id).description == f"edited by {role}"
        assert written is (role != "viewer" and role in SEES[level]), (role, level)


def test_invisible_partner_id_in_a_body_is_404_and_writes_nothing(api, world, db):
    _users, partners, _interactions, tokens = world
    from sqlalchemy import func, select

    from crm.models import FollowUp, Interaction

    before = db.session.scalar(select(func.count()).select_from(Interaction))
    response = api.post("/interactions", tokens["other_staff"], json={
        "partner_id": partners["confidential"].id, "kind": "call",
        "occurred_at": "2026-01-01T10:00:00Z", "summary": "probe"})
    assert_error(response, 404, "not_found")
    response = api.post("/follow-ups", tokens["other_staff"], json={
        "partner_id": partners["restricted"].id, "title": "probe",
        "due_at": "2027-01-01T10:00:00Z"})
    assert_error(response, 404, "not_found")
    assert db.session.scalar(select(func.count()).select_from(Interaction)) == before
    assert db.session.scalar(select(func.count()).select_from(FollowUp)) == 0


def test_viewer_writes_are_refused_and_audited(api, world, db):
    from sqlalchemy import select

    from crm.models import AuditEvent

    _users, partners, _interactions, tokens = world
    response = api.post("/partners", tokens["viewer"],
                        json={"name": "X", "sector": "media", "country": "FR"})
    assert_error(response, 403, "forbidden")
    assert_error(api.delete(f"/partners/{partners['standard'].id}", tokens["viewer"]),
                 403, "forbidden")
    assert db.session.get(Partner, partners["standard"].id).archived is False
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "authz.forbidden"))
