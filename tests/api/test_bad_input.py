"""Bad input and transport errors: 400/401/413/415/422/429 in the error envelope.

Nothing here may answer 5xx or leave a half-saved record.
"""

from __future__ import annotations

import json as jsonlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm.lib import timeutil
from crm.models import ApiToken, Interaction, Partner
from crm.services.accounts import tokens
from tests.support import snapshot

from .conftest import assert_error


@pytest.fixture
def setup(make, db, token_for):
    user = make.make_user(role="staff")
    partner = make.make_partner(owner=user)
    db.session.commit()
    return user, partner, token_for(user)


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- 401 --------------------------------------------------------------------------------

def test_missing_or_malformed_token_is_401(api, setup):
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"},
                    {"Authorization": "Bearer crm_nope"}, {"Authorization": "Bearer x y"}):
        response = api.get("/me", headers=headers)
        assert_error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_expired_or_deactivated_is_401_at_once(api, setup, make, db):
    user, _partner, token = setup
    assert api.get("/me", token).status_code == 200
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    tokens.revoke(row, user)
    db.session.commit()
    assert_error(api.get("/me", token), 401, "unauthorized")

    _row, expiring = tokens.create_token(
        user, "soon", expires_at=timeutil.now_utc() + timedelta(hours=1))
    db.session.commit()
    assert api.get("/me", expiring).status_code == 200
    _row.expires_at = timeutil.now_utc() - timedelta(seconds=1)
    db.session.commit()
    assert_error(api.get("/me", expiring), 401, "unauthorized")

    other = make.make_user(role="staff")
    _row, live = tokens.create_token(other, "t")
    db.session.commit()
    assert api.get("/me", live).status_code == 200
    other.active = False
    db.session.commit()
    assert_error(api.get("/me", live), 401, "unauthorized")


def test_last_used_is_recorded_without_a_write_per_request(api, setup, db, count_queries):
    user, _partner, token = setup
    api.get("/me", token)
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    db.session.refresh(row)
    assert row.last_used_at is not None
    with count_queries() as counter:
        api.get("/me", token)
    assert not any(s.lstrip().upper().startswith("UPDATE") for s in counter.statements)


# --- 400 / 413 / 415 ---------------------------------------------------------------------

def test_malformed_json_is_400(api, setup, db):
    _user, _partner, token = setup
    for body in ("{", '{"name": }', "", "\xff"):
        response = api.post("/partners", token, data=body, content_type="application/json")
        assert_error(response, 400, "bad_request")
    assert _count(db, Partner) == 1


def test_wrong_content_type_is_415(api, setup):
    _user, partner, token = setup
    assert_error(api.post("/partners", token, data="name=x",
                          content_type="application/x-www-form-urlencoded"),
                 415, "unsupported_media_type")
    assert_error(api.patch(f"/partners/{partner.id}", token, data='{"stage": "active"}',
                           content_type="text/plain"), 415, "unsupported_media_type")


def test_body_over_one_mebibyte_is_413(api, setup, db, app):
    _user, partner, token = setup
    huge = '{"summary": "' + "x" * (1024 * 1024) + '"}'
    response = api.post("/interactions", token, data=huge, content_type="application/json")
    assert_error(response, 413, "payload_too_large")
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024  # uploads keep their limit
    assert _count(db, Interaction) == 0


# --- 422 ---------------------------------------------------------------------------------

INTERACTION = {"kind": "call", "occurred_at": "2026-01-05T09:00:00+02:00",
               "summary": "Talked"}

BAD_INTERACTIONS = [
    ({"kind": "telepathy"}, "kind"),
    ({"kind": None}, "kind"),
    ({"kind": 3}, "kind"),
    ({"summary": None}, "summary"),
    ({"summary": ""}, "summary"),
    ({"summary": ["a"]}, "summary"),
    ({"summary": "x" * 20_001}, "summary"),
    ({"summary": "nul\x00byte"}, "summary"),
    ({"occurred_at": "2026-01-05T09:00:00"}, "occurred_at"),  # no offset
    ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"occurred_at": "0001-01-01T00:00:00+01:00"}, "occurred_at"),
    ({"occurred_at": 1700000000}, "occurred_at"),
    ({"sensitivity": "secret"}, "sensitivity"),
    ({"contact_ids": "1,2"}, "contact_ids"),
    ({"contact_ids": [True]}, "contact_ids.0"),
    ({"staff_ids": [2**40]}, "staff_ids.0"),
    ({"partner_id": "1"}, "partner_id"),
    ({"partner_id": None}, "partner_id"),
    ({"bogus": 1}, "bogus"),
    ({"follow_up": {"title": "x"}}, "follow_up.due_at"),
    ({"follow_up": {"title": "x", "due_at": "2027-01-01T00:00:00Z", "extra": 1}},
     "follow_up.extra"),
]


@pytest.mark.parametrize(("change", "field"), BAD_INTERACTIONS)
def test_bad_interaction_fields_are_422_and_nothing_is_written(api, setup, db, change, field):
    _user, partner, token = setup
    body = {**INTERACTION, "partner_id": partner.id, **change}
    error = assert_error(api.post("/interactions", token, json=body), 422, "validation_error")
    assert field in error["fields"], error
    assert _count(db, Interaction) == 0


@pytest.mark.parametrize(("change", "field"), [
    ({"name": None}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"sector": "pirates"}, "sector"),
    ({"country": "ZZ"}, "country"),
    ({"country": "FRA"}, "country"),
    ({"stage": "won"}, "stage"),
    ({"is_member": "yes"}, "is_member"),
    ({"owner_id": True}, "owner_id"),
    ({"tags": "a,b"}, "tags"),
    ({"tags": ["x" * 51]}, "tags.0"),
    ({"collaborator_ids": [0]}, "collaborator_ids.0"),
    ({"id": 5}, "id"),
    ({"version": 7}, "version"),
])
def test_bad_partner_fields_are_422(api, setup, db, change, field):
    _user, _partner, token = setup
    body = {"name": "Valid", "sector": "media", "country": "FR", **change}
    error = assert_error(api.post("/partners", token, json=body), 422, "validation_error")
    assert field in error["fields"], error
    assert _count(db, Partner) == 1


def test_json_that_is_not_an_object_is_422(api, setup):
    _user, _partner, token = setup
    for body in ([], "text", 5, None):
        assert_error(api.post("/partners", token, json=body) if body is not None else
                     api.post("/partners", token, data="null", content_type="application/json"),
                     422, "validation_error")


def test_sql_and_html_payloads_are_stored_as_text(api, setup, db):
    _user, partner, token = setup
    payloads = ["'; DROP TABLE partners; --", "<script>alert(1)</script>",
                "Robert'); DELETE FROM interactions WHERE ('1'='1"]
    for text in payloads:
        response = api.post("/interactions", token,
                            json={**INTERACTION, "partner_id": partner.id, "summary": text})
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["summary"] == text
        assert response.headers["Content-Type"].startswith("application/json")
    assert _count(db, Interaction) == 3
    search = api.get("/partners", token, query_string={"q": "%' OR '1'='1"})
    assert search.status_code == 200 and search.get_json()["total"] == 0


def test_unknown_record_ids_are_404(api, setup):
    _user, _partner, token = setup
    for path in ("/partners/0", "/partners/2147483648", "/partners/99999999999999999999",
                 "/contacts/5", "/interactions/5", "/follow-ups/5/complete"):
        method = api.post if path.endswith("complete") else api.get
        assert_error(method(path, token), 404, "not_found")


def test_unknown_api_path_answers_json_404(api, setup):
    _user, _partner, token = setup
    response = api.get("/nothing-here", token)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


# --- 429 ---------------------------------------------------------------------------------

def test_rate_limit_per_token_answers_429_with_retry_after(api, setup, app, make, token_for):
    _user, _partner, token = setup
    other = token_for(make.make_user(role="staff"))
    old = app.config["API_RATE_LIMIT"]
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        assert [api.get("/me", token).status_code for _ in range(3)] == [200, 200, 200]
        limited = api.get("/me", token)
        assert_error(limited, 429, "rate_limited")
        assert 1 <= int(limited.headers["Retry-After"]) <= 61
        assert api.get("/me", other).status_code == 200  # another token has its own budget
    finally:
        app.config["API_RATE_LIMIT"] = old


# --- the whole class of hostile input: never 5xx, never a half-saved record (issue 14) -----

#: what Schemathesis found ("]\x1a" in a URL) and its class: NUL, lone surrogates, control
#: characters, ids beyond 64 bits, dates at year 1 and 9999, ±14 h offsets, a local time
#: inside a DST gap (the API takes offsets, so it is an ordinary instant), HTML, CSV, SQL
HOSTILE = ["]\x1a", "nul\x00", "\ud800", "lone \udfff", "\x1b[31m\x07\x7f", "=1+1",
           "<script>alert(1)</script>", "' OR 1=1 --", "x" * 20_001,
           2**64 + 1, -(2**63) - 1, 2**31, 0, -1, 1.5, True, None, [], {},
           "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59-14:00",
           "2026-06-01T09:00:00+14:00", "2026-06-01T09:00:00-14:00",
           "2026-03-29T02:30:00+01:00", "2026-03-29T02:30:00"]


def _creates(partner_id: int) -> list[tuple[str, dict]]:
    due = "2030-01-01T09:00:00+00:00"
    return [
        ("/partners", {"name": "Hostile Org", "sector": "media", "country": "FR",
                       "stage": "active", "owner_id": None, "sensitivity": "standard",
                       "website": "https://example.org", "email": "a@example.org",
                       "description": "d", "is_member": False, "tags": ["t"],
                       "collaborator_ids": []}),
        (f"/partners/{partner_id}/contacts",
         {"name": "C", "title": "T", "email": "c@example.org", "phone": "+33 1",
          "language": "fr", "notes": "n", "sensitivity": "standard"}),
        ("/interactions", {**INTERACTION, "partner_id": partner_id, "outcome": "o",
                           "contact_ids": [], "staff_ids": [], "sensitivity": "standard",
                           "follow_up": {"title": "f", "due_at": due}}),
        ("/follow-ups", {"partner_id": partner_id, "title": "f", "due_at": due,
                         "assignee_id": None, "sensitivity": "standard"}),
    ]


def _fields(body: dict, prefix: str = ""):
    for key, value in body.items():
        yield prefix + key, None
        if isinstance(value, dict):
            for inner, _ in _fields(value, f"{key}."):
                yield inner, key


def _with(body: dict, path: str, value) -> dict:
    body = jsonlib.loads(jsonlib.dumps(body))
    *outer, last = path.split(".")
    target = body
    for key in outer:
        target = target[key]
    target[last] = value
    return body


def test_hostile_values_in_every_api_field_never_answer_5xx_or_write_halfway(
        api, setup, db):
    _user, partner, token = setup
    failures = []
    for path, valid in _creates(partner.id):
        for field, _parent in list(_fields(valid)):
            for value in HOSTILE:
                before = snapshot.take(db) if value in ("nul\x00", 2**64 + 1) else None
                body = jsonlib.dumps(_with(valid, field, value))
                response = api.post(path, token, data=body, content_type="application/json")
                if response.status_code >= 500 or response.status_code not in (
                        201, 404, 409, 422):
                    failures.append(f"POST {path} {field}={value!r:.40}: "
                                    f"{response.status_code} {response.get_data()[:200]!r}")
                elif response.status_code == 422:
                    assert response.get_json()["error"]["fields"], (path, field, value)
                if before is not None and response.status_code != 201:
                    changed = snapshot.unchanged_but_refusals(db, before, snapshot.take(db))
                    if changed:
                        failures.append(f"POST {path} {field}={value!r:.40}: changed {changed}")
    assert not failures, "\n".join(failures[:30])


@pytest.mark.parametrize("path", ["/partners/18446744073709551617",
                                  "/partners/2147483648/contacts",
                                  "/contacts/99999999999999999999999",
                                  "/interactions/9223372036854775808"])
def test_ids_beyond_an_id_column_in_the_url_are_404(api, setup, path):
    _user, _partner, token = setup
    assert_error(api.get(path, token), 404, "not_found")


def test_nul_in_a_query_parameter_is_422_naming_it(api, setup):
    _user, _partner, token = setup
    error = assert_error(api.get("/partners?q=a%00b", token), 422, "validation_error")
    assert "q" in error["fields"]


def test_a_ten_megabyte_body_is_413_json_not_500(api, setup, db):
    _user, _partner, token = setup
    huge = '{"name": "' + "x" * (10 * 1024 * 1024) + '", "sector": "media", "country": "FR"}'
    assert_error(api.post("/partners", token, data=huge, content_type="application/json"),
                 413, "payload_too_large")
    assert _count(db, Partner) == 1
