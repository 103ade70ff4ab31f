"""The log form's one-time form key: a double-click or a resubmitted form logs once."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from crm.models import IdempotencyKey, Interaction
from tests.support.http import csrf_token, login

NEW = "/interactions/new"
_KEY = re.compile(r'name="form_key" type="hidden" value="([^"]+)"')


def _count(db, model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def _form_key(body: str) -> str:
    match = _KEY.search(body)
    assert match, "no form key on the log form"
    return match.group(1)


def _filled(client, partner, **kw) -> dict:
    """The log form as a browser would send it after loading the page."""
    page = client.get(f"{NEW}?partner_id={partner.id}").get_data(as_text=True)
    data = {"partner_id": str(partner.id), "kind": "call", "occurred_at": "2026-01-15T10:30",
            "summary": "Talked about the hotline", "outcome": "", "sensitivity": "",
            "form_key": _form_key(page), "csrf_token": csrf_token(client, NEW)}
    data.update(kw)
    return data


def test_the_same_form_posted_twice_logs_one_interaction(client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(owner=user)
    login_as(user)
    data = _filled(client, partner)
    first = client.post(NEW, data=data)
    assert first.status_code == 302, first.get_data(as_text=True)[:1000]
    interaction = db.session.scalar(select(Interaction))
    assert first.location.endswith(f"#interaction-{interaction.id}")
    again = client.post(NEW, data=data)
    assert again.status_code == 302 and again.location == first.location
    assert _count(db, Interaction) == 1
    page = client.get(again.location).get_data(as_text=True)
    assert "Already saved" in page
    # a fresh form (a new key) logs another
    assert client.post(NEW, data=_filled(client, partner)).status_code == 302
    assert _count(db, Interaction) == 2


def test_a_form_with_errors_keeps_its_key_and_then_saves_once(client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(owner=user)
    login_as(user)
    data = _filled(client, partner, summary="")
    refused = client.post(NEW, data=data)
    assert refused.status_code == 422
    assert _form_key(refused.get_data(as_text=True)) == data["form_key"]
    assert _count(db, IdempotencyKey) == 0  # a refused submission does not use up the key
    fixed = {**data, "summary": "Now with a summary"}
    assert client.post(NEW, data=fixed).status_code == 302
    assert client.post(NEW, data=fixed).status_code == 302
    assert _count(db, Interaction) == 1


def test_a_form_without_a_key_still_saves(client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(owner=user)
    login_as(user)
    data = _filled(client, partner)
    del data["form_key"]
    assert client.post(NEW, data=data).status_code == 302
    assert client.post(NEW, data=data).status_code == 302
    assert _count(db, Interaction) == 2


def test_form_keys_belong_to_one_user(app, client, db, make, login_as):
    user = make.make_user(email="a@example.org")
    colleague = make.make_user(email="b@example.org")
    partner = make.make_partner(owner=user)
    login_as(user)
    data = _filled(client, partner)
    assert client.post(NEW, data=data).status_code == 302
    other = app.test_client()
    db.session.commit()
    login(other, colleague)
    response = other.post(NEW, data={**data, "csrf_token": csrf_token(other, NEW)})
    assert response.status_code == 302
    assert _count(db, Interaction) == 2


@pytest.mark.postgres
def test_a_double_click_logs_one_interaction(app, client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(owner=user)
    login_as(user)
    data = _filled(client, partner)
    db.session.commit()
    answers, errors = [], []
    start = threading.Barrier(5)

    def click():
        try:
            start.wait(30)
            answers.append(client.post(NEW, data=data))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=click) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads) and not errors, errors
    assert [a.status_code for a in answers] == [302] * 5
    assert len({a.location for a in answers}) == 1
    assert _count(db, Interaction) == 1
