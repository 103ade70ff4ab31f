"""/api/v1/agreements: the JSON shape (criteria for The Code only), filters and paging,
ETag / If-Match (a stale one is 409, like partners), 422 naming the field, 404 for an
agreement the caller may not see (never in a list either), idempotent create, reports
received and criteria."""

from __future__ import annotations

from datetime import date

import pytest

from tests.api.conftest import assert_error

KEYS = {"id", "partner_id", "kind", "title", "status", "signed_on", "starts_on", "expires_on",
        "renewal_notice_days", "reporting_every_months", "next_report_due_on", "sensitivity",
        "version"}


@pytest.fixture
def token(owner, token_for):
    return token_for(owner)


def test_create_read_patch_with_etag(api, db, token, partner):
    created = api.post("/agreements", token, json={
        "partner_id": partner.id, "kind": "the_code", "title": "Code membership",
        "status": "active", "signed_on": "2025-03-01", "starts_on": "2025-03-01"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert set(body) >= KEYS
    assert body["reporting_every_months"] == 12 and body["next_report_due_on"] == "2026-03-01"
    assert [c["number"] for c in body["criteria"]] == [1, 2, 3, 4, 5, 6]
    assert {c["status"] for c in body["criteria"]} == {"not_started"}
    assert created.headers["ETag"] == '"v1"'
    path = f"/agreements/{body['id']}"
    assert api.get(path, token).get_json() == body
    stale_free = api.patch(path, token, json={"title": "Code 2025"},
                           headers={"If-Match": '"v1"'})
    assert stale_free.status_code == 200 and stale_free.headers["ETag"] == '"v2"'
    stale = api.patch(path, token, json={"title": "Lost update"}, headers={"If-Match": '"v1"'})
    assert_error(stale, 409, "conflict")
    assert api.get(path, token).get_json()["title"] == "Code 2025"
    mou = api.post("/agreements", token, json={"partner_id": partner.id, "kind": "mou",
                                               "title": "MoU"}).get_json()
    assert "criteria" not in mou and mou["status"] == "draft"


@pytest.mark.parametrize(("body", "field"), [
    ({"signed_on": "2025-05-01", "expires_on": "2025-04-01"}, "expires_on"),
    ({"reporting_every_months": 0}, "reporting_every_months"),
    ({"reporting_every_months": 61}, "reporting_every_months"),
    ({"title": ""}, "title"),
    ({"title": "t" * 301}, "title"),
    ({"document_ref": "d" * 501}, "document_ref"),
    ({"status": "terminated"}, "status"),
])
def test_bad_input_is_422_naming_the_field(api, db, token, partner, body, field):
    response = api.post("/agreements", token, json={
        "partner_id": partner.id, "kind": "mou", "title": "MoU", **body})
    error = assert_error(response, 422, "validation_error")
    assert field in error["fields"], error
    assert api.get("/agreements", token).get_json()["total"] == 0


def test_filters_and_paging(api, db, token, partner, make, owner, agreement):
    other = make.make_partner(owner, name="Other partner")
    agreement(title="A", expires_on=date(2026, 6, 30), reporting_every_months=6)
    agreement(title="B", kind="funding", expires_on=date(2029, 1, 1))
    agreement(at=other, title="C", kind="the_code", status="draft", signed_on=None,
              starts_on=None, expires_on=None)

    def titles(query: str) -> list[str]:
        body = api.get(f"/agreements?{query}", token).get_json()
        return [a["title"] for a in body["items"]]

    assert titles("") == ["A", "B", "C"]
    assert titles(f"partner_id={partner.id}") == ["A", "B"]
    assert titles("kind=the_code") == ["C"]
    assert titles("status=draft") == ["C"]
    assert titles("expires_before=2027-01-01") == ["A"]
    assert titles("report_due_before=2025-09-01") == ["A"]  # due 2025-08-01
    page = api.get("/agreements?per_page=2&page=2", token).get_json()
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (3, 2, 2, 1)
    assert_error(api.get("/agreements?expires_before=soon", token), 422, "validation_error")


def test_hidden_agreements_are_404_and_never_listed(api, db, make, partner, agreement,
                                                    token_for):
    secret = agreement(title="Confidential MoU", sensitivity="confidential")
    agreement(title="Open MoU")
    staff = token_for(make.make_user())
    viewer = token_for(make.make_user("viewer"))
    for who in (staff, viewer):
        assert_error(api.get(f"/agreements/{secret.id}", who), 404, "not_found")
        listed = api.get("/agreements", who).get_json()
        assert [a["title"] for a in listed["items"]] == ["Open MoU"] and listed["total"] == 1
    assert_error(api.patch(f"/agreements/{secret.id}", staff, json={"title": "x"}), 404,
                 "not_found")
    assert_error(api.post(f"/agreements/{secret.id}/reports", staff,
                          json={"received_on": "2025-01-01"}), 404, "not_found")
    assert_error(api.patch(f"/agreements/{secret.id}/criteria/1", staff,
                           json={"status": "met"}), 404, "not_found")
    assert_error(api.post("/agreements", viewer, json={
        "partner_id": partner.id, "kind": "mou", "title": "x"}), 403, "forbidden")


def test_reports_and_criteria(api, db, token, agreement):
    code = agreement(kind="the_code", title="Code", reporting_every_months=12)
    path = f"/agreements/{code.id}"
    report = api.post(f"{path}/reports", token, json={"received_on": "2026-01-15",
                                                      "summary": "Annual report"})
    assert report.status_code == 201, report.get_json()
    assert report.get_json()["due_on"] == "2026-02-01"
    assert report.get_json()["next_report_due_on"] == "2027-01-15"
    future = api.post(f"{path}/reports", token, json={"received_on": "2999-01-01"})
    assert "received_on" in assert_error(future, 422, "validation_error")["fields"]
    changed = api.patch(f"{path}/criteria/4", token, json={"status": "met", "note": "Leaflets"})
    assert changed.status_code == 200, changed.get_json()
    criterion = changed.get_json()["criteria"][3]
    assert (criterion["number"], criterion["status"], criterion["note"]) == (4, "met", "Leaflets")
    for number in (0, 7):
        error = assert_error(api.patch(f"{path}/criteria/{number}", token,
                                       json={"status": "met"}), 422, "validation_error")
        assert "number" in error["fields"]
    assert "status" in assert_error(api.patch(f"{path}/criteria/1", token,
                                              json={"status": "done"}), 422,
                                    "validation_error")["fields"]


def test_create_is_idempotent(api, db, token, partner):
    body = {"partner_id": partner.id, "kind": "mou", "title": "Once"}
    first = api.post("/agreements", token, json=body, headers={"Idempotency-Key": "k-1"})
    again = api.post("/agreements", token, json=body, headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert api.get("/agreements", token).get_json()["total"] == 1


def test_patch_status_moves_and_termination_needs_a_reason(api, db, token, agreement):
    a = agreement()
    path = f"/agreements/{a.id}"
    error = assert_error(api.patch(path, token, json={"status": "terminated"}), 422,
                         "validation_error")
    assert "termination_reason" in error["fields"]
    assert "status" in assert_error(api.patch(path, token, json={"status": "draft"}), 422,
                                    "validation_error")["fields"]
    assert "terminated_on" in assert_error(api.patch(path, token, json={
        "status": "terminated", "termination_reason": "x", "terminated_on": "2024-01-01"}),
        422, "validation_error")["fields"]
    ended = api.patch(path, token, json={"status": "terminated",
                                         "termination_reason": "Unit dissolved"})
    assert ended.status_code == 200, ended.get_json()
    body = ended.get_json()
    assert (body["status"], body["termination_reason"]) == ("terminated", "Unit dissolved")
    assert body["terminated_on"] is not None and body["version"] == 2
