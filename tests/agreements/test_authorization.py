"""Authorization matrix for the agreement pages: every route that names an agreement (or
creates one at a partner) × {owner, collaborator, other staff, manager in region, manager
outside region, admin, viewer} × (partner sensitivity, agreement sensitivity) → 200 / 302 /
404 / 403. An agreement is visible to whoever may see its partner at the agreement's own
sensitivity; a hidden one answers 404 to every route, and a refused write changes nothing.

The expectations are written out here (docs/domain.md), not derived from crm.services.access.
Every route of the agreements blueprint must be in `_routes` or `NO_RECORD`.
"""

from __future__ import annotations

import pytest

from tests.partners.test_authorization import ROLES, VISIBLE, _people
from tests.support import matrix, snapshot
from tests.support.http import csrf_token


def _routes(partner, renewable, terminable, sensitivity):
    """(method, path, form data, "read"/"write"/"create", status when allowed)."""
    p, a, b = partner.id, renewable.id, terminable.id
    edit = {"kind": "the_code", "title": "Matrix Code", "status": "active",
            "signed_on": "2025-01-01", "renewal_notice_days": "90",
            "reporting_every_months": "12", "sensitivity": sensitivity}
    return [
        ("GET", f"/agreements/{a}", None, "read", 200),
        ("GET", f"/agreements/{a}/edit", None, "write", 200),
        ("POST", f"/agreements/{a}/edit", edit, "write", 302),
        ("POST", f"/agreements/{a}/reports", {"received_on": "2025-06-01"}, "write", 302),
        ("POST", f"/agreements/{a}/criteria/1", {"criterion1-status": "met"}, "write", 302),
        ("POST", f"/agreements/{b}/terminate", {"termination_reason": "Ended"}, "write", 302),
        ("POST", f"/agreements/{a}/renew", {"signed_on": "2028-01-01"}, "write", 302),
        ("GET", f"/partners/{p}/agreements/new", None, "create", 200),
        ("POST", f"/partners/{p}/agreements/new",
         {"kind": "mou", "title": "New MoU", "status": "draft", "renewal_notice_days": "90",
          "sensitivity": partner.sensitivity}, "create", 302),
    ]


#: (partner sensitivity, agreement sensitivity): the strictest level on both, and an
#: agreement stricter than its partner (the partner page is open to roles the agreement is
#: hidden from); standard everywhere is tests/security/test_route_matrix.py's world
LEVELS = [("confidential", "confidential"), ("standard", "restricted")]


@pytest.mark.parametrize(("partner_level", "level"), LEVELS)
@pytest.mark.parametrize("role", ROLES)
def test_matrix(client, db, make, login_as, role, partner_level, level):
    from crm.services import agreements

    people = _people(make)
    owner = people["owner"]
    partner = make.make_partner(owner, name="Matrix Partner", country="TH",
                                sensitivity=partner_level,
                                collaborators=[people["collaborator"]])
    made = [agreements.create(owner, partner, {
        "kind": "the_code", "title": title, "status": "active", "signed_on": "2025-01-01",
        "sensitivity": level}) for title in ("Matrix Code", "Matrix Other")]
    db.session.commit()
    login_as(people[role])
    token = csrf_token(client, "/partners/")
    results, changed = {}, {}
    for method, path, data, kind, ok in _routes(partner, *made, level):
        seen = role in VISIBLE[partner_level if kind == "create" else level]
        if kind != "read" and role == "viewer":
            expected = 403
        else:
            expected = ok if seen else 404
        before = snapshot.take(db) if method == "POST" and expected in (403, 404) else None
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(path, data=dict(data, csrf_token=token))
        results[(method, path)] = (response.status_code, expected)
        if before is not None:
            diff = snapshot.unchanged_but_refusals(db, before, snapshot.take(db))
            if diff:
                changed[(method, path)] = diff
    wrong = {k: v for k, v in results.items() if v[0] != v[1]}
    assert not wrong, wrong
    assert not changed, f"refused writes changed rows for {role}/{level}: {changed}"
    shown = client.get(f"/partners/{partner.id}")
    if role in VISIBLE[partner_level]:
        assert ("Matrix Other" in shown.get_data(as_text=True)) == (role in VISIBLE[level])


#: routes of the agreements blueprint that name no agreement, and why they are not in `_routes`
NO_RECORD: dict[str, str] = {}


def _code_members_views(app) -> set[str]:
    """The Code members view (crm/blueprints/agreements/code_members.py, helper E): lists of
    members, scoped like every list; its own tests cover who sees what."""
    return {endpoint for endpoint, view in app.view_functions.items()
            if view.__module__.endswith(".code_members")}


def test_every_record_route_is_in_the_matrix(app, db, make):
    from crm.services import agreements

    people = _people(make)
    partner = make.make_partner(people["owner"], country="TH")
    made = [agreements.create(people["owner"], partner, {"kind": "mou", "title": t})
            for t in ("a", "b")]
    routes = _routes(partner, *made, "standard")
    done = matrix.covered(app, [(method, path) for method, path, *_ in routes])
    missing = matrix.uncovered(app, ("agreements",), done,
                               {*NO_RECORD, *_code_members_views(app)})
    assert not missing, ("add these to _routes in tests/agreements/test_authorization.py "
                         f"(or to NO_RECORD with the reason): {missing}")
