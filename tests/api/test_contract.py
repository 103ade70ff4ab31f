"""Contract tests: every endpoint of docs/api.md — statuses, envelopes, filters, paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm.lib import timeutil
from crm.models import AuditEvent, FollowUp, Interaction, Partner

from .conftest import assert_error

LIST_KEYS = {"items", "total", "page", "per_page"}


@pytest.fixture
def staff(make, token_for):
    user = make.make_user(role="staff", email="staff@example.org")
    return user, token_for(user)


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_me(api, staff):
    user, token = staff
    response = api.get("/me", token)
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == user.id and body["role"] == "staff" and body["can_write"] is True
    assert body["token"]["prefix"] == token[:10]


def test_partner_list_envelope_filters_and_paging(api, staff, make, db):
    user, token = staff
    for i in range(5):
        make.make_partner(owner=user, name=f"Alpha {i}", country="FR", sector="media",
                          tags=["press"] if i < 2 else [])
    make.make_partner(owner=user, name="Beta", country="KE", sector="government",
                      stage="prospect")
    db.session.commit()
    body = api.get("/partners?per_page=2&page=2", token).get_json()
    assert set(body) == LIST_KEYS
    assert (body["total"], body["page"], body["per_page"], len(body["items"])) == (6, 2, 2, 2)
    assert api.get("/partners?q=alpha", token).get_json()["total"] == 5
    assert api.get("/partners?country=KE", token).get_json()["total"] == 1
    assert api.get("/partners?region=Africa", token).get_json()["total"] == 1
    assert api.get("/partners?sector=media", token).get_json()["total"] == 5
    assert api.get("/partners?stage=prospect", token).get_json()["total"] == 1
    assert api.get(f"/partners?owner_id={user.id}", token).get_json()["total"] == 6
    assert api.get("/partners?tag=press", token).get_json()["total"] == 2
    assert api.get("/partners?per_page=500", token).get_json()["per_page"] == 200
    assert api.get("/partners?page=9", token).get_json()["items"] == []


def test_partner_list_rejects_bad_filters(api, staff):
    _user, token = staff
    for query in ("sector=spaceships", "country=XX", "per_page=0", "page=-1", "stage=",
                  "owner_id=abc", "nope=1"):
        error = assert_error(api.get(f"/partners?{query}", token), 422, "validation_error")
        assert error["fields"], query


def test_partner_crud_with_etag_and_archive(api, staff, db):
    user, token = staff
    created = api.post("/partners", token, json={
        "name": "Tech Coalition", "sector": "technology", "country": "us",
        "tags": ["hotline"], "sensitivity": "restricted", "is_member": True})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["country"] == "US" and body["region"] == "Americas"
    assert body["owner_id"] == user.id and body["tags"] == ["hotline"]
    assert created.headers["ETag"] == '"v1"'
    datetime.fromisoformat(body["created_at"]).utcoffset()  # offset present
    assert body["created_at"].endswith("+00:00")

    pid = body["id"]
    got = api.get(f"/partners/{pid}", token)
    assert got.status_code == 200 and got.headers["ETag"] == '"v1"'

    patched = api.patch(f"/partners/{pid}", token, json={"stage": "dialogue"},
                        headers={"If-Match": '"v1"'})
    assert patched.status_code == 200 and patched.get_json()["stage"] == "dialogue"
    assert patched.headers["ETag"] == '"v2"'

    stale = api.patch(f"/partners/{pid}", token, json={"stage": "active"},
                      headers={"If-Match": '"v1"'})
    assert_error(stale, 409, "conflict")
    assert db.session.get(Partner, pid).stage == "dialogue"

    archived = api.delete(f"/partners/{pid}", token)
    assert archived.status_code == 200 and archived.get_json()["archived"] is True
    assert api.get("/partners", token).get_json()["total"] == 0
    assert api.get("/partners?archived=true", token).get_json()["total"] == 1
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"partner.create", "partner.update"} <= actions
    assert any(a.startswith("partner.archive") for a in actions)


def test_contacts(api, staff, make, db):
    user, token = staff
    partner = make.make_partner(owner=user)
    make.make_contact(partner, name="Zed")
    db.session.commit()
    created = api.post(f"/partners/{partner.id}/contacts", token,
                       json={"name": "Ana Lima", "email": "ana@example.org", "title": "Lead"})
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["id"]
    listed = api.get(f"/partners/{partner.id}/contacts", token).get_json()
    assert set(listed) == LIST_KEYS and listed["total"] == 2
    assert [c["name"] for c in listed["items"]] == ["Ana Lima", "Zed"]
    got = api.get(f"/contacts/{cid}", token)
    assert got.status_code == 200 and got.headers["ETag"] == '"v1"'
    patched = api.patch(f"/contacts/{cid}", token, json={"phone": "+33 1 23"},
                        headers={"If-Match": got.headers["ETag"]})
    assert patched.status_code == 200 and patched.get_json()["phone"] == "+33 1 23"
    assert_error(api.patch(f"/contacts/{cid}", token, json={"phone": "1"},
                           headers={"If-Match": '"v1"'}), 409, "conflict")
    assert_error(api.get("/partners/999999/contacts", token), 404, "not_found")


def test_interactions_with_follow_up_in_one_transaction(api, staff, make, db):
    user, token = staff
    partner = make.make_partner(owner=user)
    db.session.commit()
    due = (timeutil.now_utc() + timedelta(days=7)).replace(microsecond=0)
    response = api.post("/interactions", token, json={
        "partner_id": partner.id, "kind": "meeting",
        "occurred_at": "2026-03-01T14:30:00+01:00", "summary": "Agreed a joint training",
        "follow_up": {"title": "Send the MoU", "due_at": due.isoformat()}})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["occurred_at"] == "2026-03-01T13:30:00+00:00"
    fu = db.session.scalar(select(FollowUp))
    assert fu.interaction_id == body["id"] and fu.assignee_id == user.id
    assert db.session.get(Partner, partner.id).last_interaction_at == datetime(
        2026, 3, 1, 13, 30, tzinfo=UTC)

    bad = api.post("/interactions", token, json={
        "partner_id": partner.id, "kind": "call", "occurred_at": "2026-03-02T10:00:00Z",
        "summary": "x", "follow_up": {"title": "", "due_at": due.isoformat()}})
    error = assert_error(bad, 422, "validation_error")
    assert "follow_up.title" in error["fields"]
    assert _count(db, Interaction) == 1 and _count(db, FollowUp) == 1


def test_interaction_filters_and_patch(api, staff, make, db):
    user, token = staff
    a, b = make.make_partner(owner=user), make.make_partner(owner=user)
    base = datetime(2026, 1, 10, tzinfo=UTC)
    for days in (0, 5, 10):
        make.make_interaction(a, logged_by=user, occurred_at=base + timedelta(days=days))
    other = make.make_interaction(b, logged_by=user, occurred_at=base)
    db.session.commit()
    assert api.get("/interactions", token).get_json()["total"] == 4
    assert api.get(f"/interactions?partner_id={a.id}", token).get_json()["total"] == 3
    since = api.get("/interactions", token,
                    query_string={"since": "2026-01-15T00:00:00+00:00"}).get_json()
    assert since["total"] == 2
    window = api.get("/interactions", token, query_string={
        "since": "2026-01-10T00:00:00Z", "until": "2026-01-15T00:00:00Z"}).get_json()
    assert window["total"] == 2
    assert_error(api.get("/interactions", token, query_string={
        "since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}), 422,
        "validation_error")
    assert_error(api.get("/interactions", token, query_string={
        "since": "2026-02-01T00:00:00"}), 422, "validation_error")  # no offset
    got = api.get(f"/interactions/{other.id}", token)
    patched = api.patch(f"/interactions/{other.id}", token, json={"outcome": "Signed"},
                        headers={"If-Match": got.headers["ETag"]})
    assert patched.status_code == 200 and patched.get_json()["outcome"] == "Signed"
    assert patched.headers["ETag"] == '"v2"'


def test_follow_ups(api, staff, make, db):
    user, token = staff
    colleague = make.make_user(role="staff")
    partner = make.make_partner(owner=user)
    now = timeutil.now_utc()
    make.make_follow_up(partner, user, due_at=now + timedelta(days=1))
    make.make_follow_up(partner, colleague, due_at=now + timedelta(days=10))
    make.make_follow_up(partner, user, due_at=now - timedelta(days=1), status="done")
    db.session.commit()
    assert api.get("/follow-ups", token).get_json()["total"] == 3
    assert api.get(f"/follow-ups?assignee_id={user.id}", token).get_json()["total"] == 2
    assert api.get("/follow-ups?status=open", token).get_json()["total"] == 2
    due_before = (now + timedelta(days=5)).isoformat()
    assert api.get("/follow-ups", token,
                   query_string={"due_before": due_before}).get_json()["total"] == 2
    created = api.post("/follow-ups", token, json={
        "partner_id": partner.id, "title": "Call back",
        "due_at": (now + timedelta(days=2)).isoformat(), "assignee_id": colleague.id})
    assert created.status_code == 201, created.get_json()
    fid = created.get_json()["id"]
    done = api.post(f"/follow-ups/{fid}/complete", token)
    assert done.status_code == 200 and done.get_json()["status"] == "done"
    assert done.get_json()["completed_at"] is not None
    again = api.post(f"/follow-ups/{fid}/complete", token)  # a double click changes nothing
    assert again.status_code == 200 and again.headers["ETag"] == done.headers["ETag"]
    cancelled = make.make_follow_up(partner, user, status="cancelled")
    db.session.commit()
    assert_error(api.post(f"/follow-ups/{cancelled.id}/complete", token), 409, "conflict")


def test_openapi_and_docs_page(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path, methods in {
        "/api/v1/me": {"get"}, "/api/v1/partners": {"get", "post"},
        "/api/v1/partners/{partner_id}": {"get", "patch", "delete"},
        "/api/v1/partners/{partner_id}/contacts": {"get", "post"},
        "/api/v1/contacts/{contact_id}": {"get", "patch"},
        "/api/v1/interactions": {"get", "post"},
        "/api/v1/interactions/{interaction_id}": {"get", "patch"},
        "/api/v1/follow-ups": {"get", "post"},
        "/api/v1/follow-ups/{follow_up_id}/complete": {"post"},
    }.items():
        assert methods <= set(paths[path]), path
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "vendor/redoc/redoc.standalone.js" in html and "js/api-docs.js" in html
    assert "<script>" not in html  # CSP: no inline script
    assert client.get("/static/js/api-docs.js").status_code == 200
