"""Authorization matrix: every route of partners / contacts / admin audit
× {owner, collaborator, other staff, manager in region, manager outside region, admin, viewer}
× {standard, restricted, confidential} → 200 / 302 / 404 / 403 (a person's data: admins only,
403 for others who see the contact, 404 for those who do not).

The expectations are written out here (docs/domain.md), not derived from crm.services.access.
Each refused write is checked on its own: every table is as it was before it (the audit event
recording the refusal aside). Every route of the partners and contacts blueprints that names a
record must be in `_routes` (or in `NO_RECORD`, with the reason).
"""

from __future__ import annotations

import pytest

from tests.support import matrix, snapshot
from tests.support.http import csrf_token

ROLES = ("owner", "collaborator", "other_staff", "manager_in_region", "manager_outside",
         "admin", "viewer")
VISIBLE = {
    "standard": set(ROLES),
    "restricted": {"owner", "collaborator", "manager_in_region", "admin"},
    "confidential": {"owner", "admin"},
}


def _people(make):
    owner = make.make_user(name="Owner")
    collaborator = make.make_user(name="Collaborator")
    return {
        "owner": owner,
        "collaborator": collaborator,
        "other_staff": make.make_user(),
        "manager_in_region": make.make_user("manager", region_scope="Asia"),
        "manager_outside": make.make_user("manager", region_scope="Europe"),
        "admin": make.make_user("admin"),
        "viewer": make.make_user("viewer"),
    }


def _routes(partner, contact, owner_id, collaborator_id, sensitivity):
    """(method, path, form data, status when allowed to read, status when allowed to write)."""
    p, c = partner.id, contact.id
    edit = {"name": "Matrix Partner", "sector": "civil_society", "country": "TH",
            "stage": "active", "owner_id": str(owner_id), "sensitivity": sensitivity,
            "collaborator_ids": [str(collaborator_id)]}
    person = {"name": "Someone", "sensitivity": sensitivity}
    return [
        ("GET", f"/partners/{p}", None, "read", 200),
        ("GET", f"/partners/{p}/timeline", None, "read", 200),
        # the contact page (issue 13, helper A)
        ("GET", f"/contacts/{c}", None, "read", 200),
        ("GET", f"/partners/{p}/edit", None, "write", 200),
        ("POST", f"/partners/{p}/edit", edit, "write", 302),
        ("GET", f"/partners/{p}/contacts/new", None, "write", 200),
        ("POST", f"/partners/{p}/contacts/new", dict(person, email="new@example.org"),
         "write", 302),
        ("GET", f"/contacts/{c}/edit", None, "write", 200),
        ("POST", f"/contacts/{c}/edit", person, "write", 302),
        ("POST", f"/partners/{p}/archive", {}, "write", 302),
        ("POST", f"/partners/{p}/unarchive", {}, "write", 302),
        # a person's data (issue 13, helper B): admins only; others 403 where they see the
        # contact, 404 where they do not. Erasure last (the edit above renamed the contact).
        ("GET", f"/contacts/{c}/personal-data", None, "admin", 200),
        ("GET", f"/contacts/{c}/erase", None, "admin", 200),
        ("POST", f"/contacts/{c}/mentions/redact", {"mention": f"follow_up:{c}:title"},
         "admin", 302),
        ("POST", f"/contacts/{c}/erase", {"confirmation": "Someone"}, "admin", 302),
    ]


@pytest.mark.parametrize("sensitivity", ["standard", "restricted", "confidential"])
@pytest.mark.parametrize("role", ROLES)
def test_matrix(client, db, make, login_as, role, sensitivity):
    people = _people(make)
    owner = people["owner"]
    partner = make.make_partner(owner, name="Matrix Partner", country="TH",
                                sensitivity=sensitivity,
                                collaborators=[people["collaborator"]])
    contact = make.make_contact(partner, sensitivity=sensitivity)
    make.make_interaction(partner, owner)
    login_as(people[role])
    token = csrf_token(client, "/partners/")
    visible = role in VISIBLE[sensitivity]
    results = {}
    changed = {}
    for method, path, data, kind, ok in _routes(partner, contact, owner.id,
                                                people["collaborator"].id, sensitivity):
        if kind == "admin":
            expected = ok if role == "admin" else 403 if visible else 404
        elif kind == "write" and role == "viewer":
            expected = 403
        else:
            expected = ok if visible else 404
        before = snapshot.take(db) if method == "POST" and expected in (403, 404) else None
        if method == "GET":
            status = client.get(path).status_code
        else:
            status = client.post(path, data=dict(data, csrf_token=token)).status_code
        results[(method, path)] = (status, expected)
        if before is not None:
            diff = snapshot.unchanged_but_refusals(db, before, snapshot.take(db))
            if diff:
                changed[(method, path)] = diff
    wrong = {k: v for k, v in results.items() if v[0] != v[1]}
    assert not wrong, wrong
    assert not changed, f"refused writes changed rows for {role}/{sensitivity}: {changed}"
    listed = "Matrix Partner" in client.get("/partners/").get_data(as_text=True)
    assert listed == visible
    items = client.get("/partners/autocomplete?q=matrix").get_json()["items"]
    assert bool(items) == visible
    assert client.get("/partners/new").status_code == (403 if role == "viewer" else 200)
    assert client.get("/admin/audit").status_code == (200 if role == "admin" else 403)
    db.session.expire_all()
    if role == "viewer" or not visible:  # and, as a whole, nothing at all was written
        assert not partner.archived and contact.name != "Someone"
        assert partner.name == "Matrix Partner" and partner.version == 1


#: routes of the partners and contacts blueprints that name no record (their roles:
#: tests/security/test_route_matrix.py), and why they are not in `_routes`
NO_RECORD = {
    "partners.index": "the list (test_matrix checks what it shows)",
    "partners.autocomplete": "a search (test_matrix checks what it finds)",
    "partners.new": "creates a partner (test_matrix checks who may open it)",
    "partners.owners": "a search over people",
    "partners.tags": "a search over tags",
}


def test_every_record_route_is_in_the_matrix(app, db, make):
    people = _people(make)
    partner = make.make_partner(people["owner"], country="TH")
    contact = make.make_contact(partner)
    routes = _routes(partner, contact, people["owner"].id, people["collaborator"].id,
                     "standard")
    done = matrix.covered(app, [(method, path) for method, path, *_ in routes])
    missing = matrix.uncovered(app, ("partners", "contacts"), done, NO_RECORD)
    assert not missing, ("add these to _routes in tests/partners/test_authorization.py "
                         f"(or to NO_RECORD with the reason): {missing}")
