"""Idempotency-Key on the four create operations: a retried write never duplicates."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from crm.lib import timeutil
from crm.models import ApiToken, Contact, FollowUp, IdempotencyKey, Interaction, Partner
from crm.services import idempotency
from tests.support.wait import lock_waiters, wait_until

from .conftest import ApiClient, assert_error


@pytest.fixture
def staff(make, token_for):
    user = make.make_user(role="staff", email="staff@example.org")
    return user, token_for(user)


@pytest.fixture
def partner(make, staff, db):
    created = make.make_partner(owner=staff[0], name="Hotline One")
    db.session.commit()
    return created


def _count(db, model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def _operations(partner_id: int) -> list[tuple[str, dict, type]]:
    due = (timeutil.now_utc() + timedelta(days=3)).isoformat()
    return [
        ("/partners", {"name": "Tech Coalition", "sector": "technology", "country": "us"},
         Partner),
        ("/interactions", {"partner_id": partner_id, "kind": "call",
                           "occurred_at": "2026-03-01T14:30:00+01:00", "summary": "Spoke"},
         Interaction),
        ("/follow-ups", {"partner_id": partner_id, "title": "Call back", "due_at": due},
         FollowUp),
        (f"/partners/{partner_id}/contacts", {"name": "Ana Lima", "email": "ana@example.org"},
         Contact),
    ]


def _key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


@pytest.mark.parametrize("index", range(4), ids=["partners", "interactions", "follow-ups",
                                                  "contacts"])
def test_a_retry_replays_the_stored_answer_and_creates_nothing(api, staff, partner, db, index):
    _user, token = staff
    path, body, model = _operations(partner.id)[index]
    first = api.post(path, token, json=body, headers=_key("retry-1"))
    assert first.status_code == 201, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    before = _count(db, model)
    # the same body with its keys in another order is the same request
    again = api.post(path, token, json=dict(reversed(list(body.items()))),
                     headers=_key("retry-1"))
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Content-Type"] == "application/json"
    assert _count(db, model) == before
    # without a key (or with a new one) the API creates as before
    other = api.post(path, token, json=body if index != 3 else {**body, "email": "b@example.org"},
                     headers=_key("retry-2"))
    assert other.status_code == 201 and other.get_json()["id"] != first.get_json()["id"]


def test_the_same_key_with_another_body_answers_422(api, staff, partner, db):
    _user, token = staff
    path, body, model = _operations(partner.id)[0]
    assert api.post(path, token, json=body, headers=_key("k")).status_code == 201
    error = assert_error(api.post(path, token, json={**body, "name": "Other"},
                                  headers=_key("k")), 422, "validation_error")
    assert "Idempotency-Key" in error["fields"]
    # another operation with the same key is another request too
    path2, body2, _model = _operations(partner.id)[1]
    assert_error(api.post(path2, token, json=body2, headers=_key("k")), 422, "validation_error")
    assert _count(db, model) == 2  # the fixture's partner and the first create


def test_keys_belong_to_one_token(api, staff, partner, token_for, make, db):
    user, token = staff
    second_token = token_for(user, name="second")
    colleague_token = token_for(make.make_user(role="staff", email="c@example.org"))
    path, body, model = _operations(partner.id)[0]
    answers = [api.post(path, t, json=body, headers=_key("shared"))
               for t in (token, second_token, colleague_token)]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert not any("Idempotent-Replayed" in a.headers for a in answers)
    assert len({a.get_json()["id"] for a in answers}) == 3
    assert _count(db, model) == 4


@pytest.mark.parametrize("value", ["", "x" * 256, "caf\u00e9", "tab\there"])
def test_a_malformed_key_answers_400_and_changes_nothing(api, staff, partner, db, value):
    _user, token = staff
    path, body, model = _operations(partner.id)[0]
    error = assert_error(api.post(path, token, json=body, headers=_key(value)), 400,
                         "bad_request")
    assert "Idempotency-Key" in error["fields"]
    assert _count(db, model) == 1 and _count(db, IdempotencyKey) == 0


def test_a_refused_first_attempt_does_not_poison_the_key(api, staff, partner, db):
    _user, token = staff
    path, body, model = _operations(partner.id)[0]
    assert_error(api.post(path, token, json={**body, "country": "ZZ"}, headers=_key("fix-me")),
                 422, "validation_error")
    assert _count(db, IdempotencyKey) == 0
    fixed = api.post(path, token, json=body, headers=_key("fix-me"))
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed.headers
    assert _count(db, model) == 2


def test_keys_expire_after_24_hours(api, staff, partner, db):
    _user, token = staff
    path, body, model = _operations(partner.id)[0]
    start = timeutil.now_utc()
    with time_machine.travel(start, tick=False):
        first = api.post(path, token, json=body, headers=_key("daily"))
    with time_machine.travel(start + idempotency.TTL - timedelta(minutes=1), tick=False):
        replay = api.post(path, token, json=body, headers=_key("daily"))
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.get_json()["id"] == first.get_json()["id"]
    with time_machine.travel(start + idempotency.TTL + timedelta(minutes=1), tick=False):
        fresh = api.post(path, token, json=body, headers=_key("daily"))
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh.headers
    assert fresh.get_json()["id"] != first.get_json()["id"]
    assert _count(db, model) == 3 and _count(db, IdempotencyKey) == 1  # the old row is gone


def test_purge_deletes_expired_keys(api, staff, partner, db):
    _user, token = staff
    path, body, _model = _operations(partner.id)[0]
    api.post(path, token, json=body, headers=_key("old"))
    now = timeutil.now_utc()
    assert idempotency.purge(now) == 0
    assert idempotency.purge(now + idempotency.TTL + timedelta(seconds=1)) == 1
    db.session.commit()
    assert _count(db, IdempotencyKey) == 0


def test_the_openapi_document_describes_the_header(api, staff):
    spec = api.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/partners", "/api/v1/interactions", "/api/v1/follow-ups",
                 "/api/v1/partners/{partner_id}/contacts"):
        operation = spec["paths"][path]["post"]
        names = [p.get("name") for p in operation.get("parameters", [])]
        assert "Idempotency-Key" in names, path
        assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"], path


# --- PostgreSQL: concurrent requests with one key ------------------------------------

def _post_in_thread(app, token, path, body, key, answers, errors, start=None):
    def run():
        try:
            client = ApiClient(app.test_client())
            if start is not None:
                start.wait(30)
            answers.append(client.post(path, token, json=body, headers=_key(key)))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.postgres
@pytest.mark.parametrize("index", range(4), ids=["partners", "interactions", "follow-ups",
                                                  "contacts"])
def test_ten_concurrent_requests_with_one_key_create_one_record(app, staff, partner, db, index):
    _user, token = staff
    path, body, model = _operations(partner.id)[index]
    before = _count(db, model)
    db.session.commit()
    answers, errors = [], []
    start = threading.Barrier(10)
    threads = [_post_in_thread(app, token, path, body, "burst", answers, errors, start)
               for _ in range(10)]
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads) and not errors, errors
    assert [a.status_code for a in answers] == [201] * 10
    assert len({a.get_data() for a in answers}) == 1  # identical answers
    assert sum("Idempotent-Replayed" in a.headers for a in answers) == 9
    assert _count(db, model) == before + 1


@pytest.mark.postgres
def test_a_retry_waits_for_the_running_first_attempt_then_replays(app, staff, partner, db):
    user, token = staff
    path, body, model = _operations(partner.id)[0]
    db.session.commit()
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id))
    request_hash = idempotency.fingerprint("POST", "/api/v1" + path, body)
    # the "first attempt": claimed in this (uncommitted) transaction
    row = idempotency.claim(user.id, token_id, "slow", request_hash)
    idempotency.record(row, 201, '{"id": 0}', {"Content-Type": "application/json"})
    answers, errors = [], []
    thread = _post_in_thread(app, token, path, body, "slow", answers, errors)
    wait_until(lambda: lock_waiters(db.engine) or errors, timeout=30,
               message="the retry to wait on the first attempt's key")
    db.session.commit()
    thread.join(30)
    assert not errors, errors
    (answer,) = answers
    assert answer.status_code == 201 and answer.get_json() == {"id": 0}
    assert answer.headers["Idempotent-Replayed"] == "true"
    assert _count(db, model) == 1  # only the fixture's partner


@pytest.mark.postgres
def test_a_retry_answers_409_when_the_first_attempt_runs_too_long(app, staff, partner, db,
                                                                  monkeypatch):
    user, token = staff
    path, body, model = _operations(partner.id)[0]
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id))
    db.session.commit()
    row = idempotency.claim(user.id, token_id, "stuck",
                            idempotency.fingerprint("POST", "/api/v1" + path, body))
    assert isinstance(row, IdempotencyKey)
    monkeypatch.setitem(app.config, "IDEMPOTENCY_WAIT_MS", 100)
    answers, errors = [], []
    _post_in_thread(app, token, path, body, "stuck", answers, errors).join(30)
    db.session.rollback()
    assert not errors, errors
    (answer,) = answers
    error = assert_error(answer, 409, "conflict")
    assert "in progress" in error["message"] and answer.headers["Retry-After"] == "1"
    # the first attempt failed: the key is free again
    retried = ApiClient(app.test_client()).post(path, token, json=body, headers=_key("stuck"))
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    assert _count(db, model) == 2
