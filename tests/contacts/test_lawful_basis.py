"""Do-not-contact and the lawful basis on the contact form and the API: saved, shown, audited,
and bad values refused beside the field (web) or with a 422 naming it (API)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from crm.lib import timeutil
from crm.models import AuditEvent, Contact
from tests.support.http import post_form

from .conftest import assert_error

TODAY = timeutil.now_utc().date()


@pytest.fixture
def editing(db, make, login_as, client):
    user = make.make_user()
    partner = make.make_partner(user)
    contact = make.make_contact(partner, name="Ana Lima")
    db.session.commit()
    login_as(user)
    return {"user": user, "contact": contact, "path": f"/contacts/{contact.id}/edit"}


def _form(**changes) -> dict:
    return {"name": "Ana Lima", "sensitivity": "standard", "language": "", **changes}


def test_form_saves_and_the_page_shows_them(client, db, editing):
    path, contact = editing["path"], editing["contact"]
    response = post_form(client, path, _form(
        do_not_contact="y", lawful_basis="consent", lawful_basis_on="2025-06-01",
        lawful_basis_note="Signed the consent form at the regional meeting"), token_from=path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/contacts/{contact.id}")
    db.session.expire_all()
    saved = db.session.get(Contact, contact.id)
    assert saved.do_not_contact is True and saved.lawful_basis == "consent"
    assert saved.lawful_basis_on == date(2025, 6, 1)
    assert saved.version == 2
    body = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Do not contact" in body and "Consent" in body and "01 Jun 2025" in body
    assert "Signed the consent form at the regional meeting" in body
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "contact.update")).one()
    assert event.changes["do_not_contact"] == [False, True]
    assert event.changes["lawful_basis"] == [None, "consent"]
    # the form shows what is stored; unticking and emptying clears them
    form = client.get(path).get_data(as_text=True)
    assert 'value="2025-06-01"' in form and "checked" in form
    assert post_form(client, path, _form(lawful_basis="", lawful_basis_on="",
                                         lawful_basis_note=""), token_from=path).status_code == 302
    db.session.expire_all()
    cleared = db.session.get(Contact, contact.id)
    assert (cleared.do_not_contact, cleared.lawful_basis, cleared.lawful_basis_on,
            cleared.lawful_basis_note) == (False, None, None, None)


#: (form changes, the field refused, words of its message); all posted in one test (each
#: refusal changes nothing, so they share one signed-in contact)
BAD_FORM = [
    ({"lawful_basis": "because"}, "lawful_basis", "Choose a lawful basis from the list"),
    ({"lawful_basis": "<script>alert(1)</script>"}, "lawful_basis",
     "Choose a lawful basis from the list"),
    ({"lawful_basis_on": (TODAY + timedelta(days=2)).isoformat()}, "lawful_basis_on",
     "cannot be in the future"),
    ({"lawful_basis_on": "9999-12-31"}, "lawful_basis_on", "cannot be in the future"),
    ({"lawful_basis_on": "0001-01-01"}, "lawful_basis_on", "after 1900"),
    ({"lawful_basis_on": "next tuesday"}, "lawful_basis_on", "Not a valid date"),
    ({"lawful_basis_note": "x" * 2_001}, "lawful_basis_note", "2000"),
    ({"lawful_basis_note": "bad \x07 bell"}, "lawful_basis_note", "control"),
]


def test_bad_values_are_refused_beside_the_field(client, db, editing):
    path = editing["path"]
    wrong = []
    for changes, field, message in BAD_FORM:
        response = post_form(client, path, _form(**changes), token_from=path)
        body = response.get_data(as_text=True)
        error = body.split(f'id="{field}-error"', 1)
        shown = error[1][:300].lower().replace(",", "") if len(error) == 2 else ""
        if response.status_code != 422 or message.lower() not in shown:
            wrong.append((changes, response.status_code, shown[:120]))
    assert not wrong, wrong
    db.session.expire_all()
    contact = db.session.get(Contact, editing["contact"].id)
    assert contact.version == 1 and contact.lawful_basis is None


def test_html_in_the_note_is_shown_as_text(client, db, editing):
    path, contact = editing["path"], editing["contact"]
    note = '<img src=x onerror="alert(1)"> and <b>bold</b>'
    assert post_form(client, path, _form(lawful_basis="contract", lawful_basis_note=note),
                     token_from=path).status_code == 302
    body = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "<img src=x" not in body and "&lt;img src=x" in body


def test_today_in_the_users_zone_is_not_the_future(client, db, make, login_as):
    # Kiritimati is UTC+14: its today may be UTC's tomorrow, and must be accepted
    user = make.make_user(timezone="Pacific/Kiritimati")
    partner = make.make_partner(user)
    contact = make.make_contact(partner, name="Far East")
    db.session.commit()
    login_as(user)
    path = f"/contacts/{contact.id}/edit"
    local_today = timeutil.local_date(timeutil.now_utc(), "Pacific/Kiritimati")
    response = post_form(client, path, _form(name="Far East",
                                             lawful_basis_on=local_today.isoformat()),
                         token_from=path)
    assert response.status_code == 302


# --- the API ------------------------------------------------------------------------------

@pytest.fixture
def api_world(db, make, token_for):
    user = make.make_user()
    partner = make.make_partner(user)
    db.session.commit()
    return {"user": user, "partner": partner, "token": token_for(user)}


def test_api_round_trip(api, db, api_world):
    token, partner = api_world["token"], api_world["partner"]
    created = api.post(f"/partners/{partner.id}/contacts", token, json={
        "name": "Api Person", "do_not_contact": True, "lawful_basis": "public_task",
        "lawful_basis_note": "Government liaison", "lawful_basis_on": "2024-02-29"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["do_not_contact"], body["lawful_basis"], body["lawful_basis_note"],
            body["lawful_basis_on"], body["erased"]) == (
        True, "public_task", "Government liaison", "2024-02-29", False)
    cid = body["id"]
    patched = api.patch(f"/contacts/{cid}", token, json={
        "do_not_contact": False, "lawful_basis": None, "lawful_basis_on": None})
    assert patched.status_code == 200, patched.get_json()
    got = api.get(f"/contacts/{cid}", token).get_json()
    assert (got["do_not_contact"], got["lawful_basis"], got["lawful_basis_on"],
            got["lawful_basis_note"]) == (False, None, None, "Government liaison")
    listed = api.get(f"/partners/{partner.id}/contacts", token).get_json()["items"]
    assert {"do_not_contact", "lawful_basis", "lawful_basis_on", "erased"} <= set(listed[0])


#: (PATCH body, the field the 422 names)
BAD_API = [
    ({"do_not_contact": "yes"}, "do_not_contact"),
    ({"do_not_contact": 1}, "do_not_contact"),
    ({"lawful_basis": "because"}, "lawful_basis"),
    ({"lawful_basis": ""}, "lawful_basis"),
    ({"lawful_basis_note": "x" * 2_001}, "lawful_basis_note"),
    ({"lawful_basis_on": "2024-13-01"}, "lawful_basis_on"),
    ({"lawful_basis_on": "2024-01-01T10:00:00+00:00"}, "lawful_basis_on"),
    ({"lawful_basis_on": 20240101}, "lawful_basis_on"),
    ({"lawful_basis_on": "9999-12-31"}, "lawful_basis_on"),
    ({"lawful_basis_on": "1000-01-01"}, "lawful_basis_on"),
    ({"lawful_basis_on": (TODAY + timedelta(days=2)).isoformat()}, "lawful_basis_on"),
    ({"erased": True}, "erased"),
]


def test_api_bad_values_answer_422(api, db, make, api_world):
    token, partner = api_world["token"], api_world["partner"]
    contact = make.make_contact(partner)
    db.session.commit()
    for body, field in BAD_API:
        error = assert_error(api.patch(f"/contacts/{contact.id}", token, json=body), 422,
                             "validation_error")
        assert field in error["fields"], (body, error)
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).version == 1
