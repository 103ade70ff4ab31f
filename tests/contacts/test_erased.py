"""An erased contact (simulated: what erasure leaves behind) is "Erased contact #id" on its
page, cannot be edited (web: redirect with a message; API: 409), and never appears again in
the log form's choices, the partner page's contacts, the API's contact list or the contacts
CSV; the interactions it attended keep it."""

from __future__ import annotations

import csv
import io
from html import unescape

import pytest
from sqlalchemy import select

from crm.models import Contact, Interaction, interaction_contacts
from tests.support.http import post_form

from .conftest import assert_error

NAME = "Marisol Quintero"


@pytest.fixture
def erased_world(db, make, erase):
    user = make.make_user()
    partner = make.make_partner(user, name="Safe Harbour Network")
    person = make.make_contact(partner, name=NAME, email="marisol@example.net",
                               phone="+57 1 555 0101", title="Case worker",
                               notes="Met at the Bogotá forum", do_not_contact=True,
                               lawful_basis="consent", lawful_basis_note="Consent form 2023")
    colleague = make.make_contact(partner, name="Still Here")
    interaction = make.make_interaction(partner, user, summary="Joint workshop",
                                        contacts=[person, colleague])
    db.session.commit()
    erase(person)
    return {"user": user, "partner": partner, "person": person, "colleague": colleague,
            "interaction": interaction}


def _linked(db, interaction_id: int) -> set[int]:
    return set(db.session.scalars(select(interaction_contacts.c.contact_id).where(
        interaction_contacts.c.interaction_id == interaction_id)))


def test_page_shows_erased_contact_without_personal_fields(client, login_as, erased_world):
    login_as(erased_world["user"])
    person = erased_world["person"]
    response = client.get(f"/contacts/{person.id}")
    assert response.status_code == 200
    body = unescape(response.get_data(as_text=True))
    assert f"Erased contact #{person.id}" in body and 'data-badge="erased"' in body
    for gone in (NAME, "marisol@", "+57 1 555 0101", "Case worker", "Bogotá", "Consent form",
                 'data-badge="do-not-contact"', "Lawful basis", f"/contacts/{person.id}/edit"):
        assert gone not in body, gone
    assert "Joint workshop" in body  # the interactions it attended are kept


def test_edit_is_refused_on_the_web(client, db, login_as, erased_world):
    login_as(erased_world["user"])
    person = erased_world["person"]
    path = f"/contacts/{person.id}/edit"
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/contacts/{person.id}")
    response = post_form(client, path, {"name": "Back Again", "sensitivity": "standard"},
                         token_from="/", follow_redirects=True)
    body = unescape(response.get_data(as_text=True))
    assert "This contact was erased" in body
    db.session.expire_all()
    assert db.session.get(Contact, person.id).name == f"Erased contact #{person.id}"


def test_api_patch_answers_409_and_get_says_erased(api, db, token_for, erased_world):
    token = token_for(erased_world["user"])
    person = erased_world["person"]
    got = api.get(f"/contacts/{person.id}", token).get_json()
    assert got["erased"] is True and got["email"] is None
    error = assert_error(api.patch(f"/contacts/{person.id}", token, json={"name": "Back"}),
                         409, "conflict")
    assert "erased" in error["message"]
    db.session.expire_all()
    assert db.session.get(Contact, person.id).version == 1


def test_absent_from_lists_choices_and_exports(client, api, db, token_for, login_as,
                                                erased_world):
    token = token_for(erased_world["user"])
    login_as(erased_world["user"])
    person, partner = erased_world["person"], erased_world["partner"]
    label = f"Erased contact #{person.id}"
    # the partner page's contacts list (the timeline still names the attendee)
    page = unescape(client.get(f"/partners/{partner.id}").get_data(as_text=True))
    contacts_card = page.split('id="contacts-heading"', 1)[1].split("</section>", 1)[0]
    assert "Still Here" in contacts_card and label not in contacts_card
    assert "(1)" in contacts_card
    # the log form's choices, first render and htmx fragment
    for path in (f"/interactions/new?partner_id={partner.id}",
                 f"/interactions/partner-fields?partner_id={partner.id}"):
        body = unescape(client.get(path).get_data(as_text=True))
        assert "Still Here" in body and label not in body
        assert f'id="contact-{person.id}"' not in body
    # the API list
    listed = api.get(f"/partners/{partner.id}/contacts", token).get_json()
    assert [c["name"] for c in listed["items"]] == ["Still Here"] and listed["total"] == 1
    # the CSV export
    response = client.get("/exports/contacts.csv")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [r["name"] for r in rows] == ["Still Here"]
    assert {"do_not_contact", "lawful_basis", "lawful_basis_on"} <= set(rows[0])


def test_interactions_keep_the_erased_attendee(client, api, db, token_for, login_as,
                                               erased_world):
    token = token_for(erased_world["user"])
    login_as(erased_world["user"])
    person, colleague = erased_world["person"], erased_world["colleague"]
    interaction, partner = erased_world["interaction"], erased_world["partner"]
    timeline = unescape(client.get(f"/partners/{partner.id}").get_data(as_text=True))
    assert f"Erased contact #{person.id}" in timeline
    # the web edit form does not offer it, and saving keeps the link
    path = f"/interactions/{interaction.id}/edit"
    form = client.get(path).get_data(as_text=True)
    assert f'id="contact-{person.id}"' not in form
    response = post_form(client, path, {
        "kind": "meeting", "occurred_at": "2026-01-02 10:00", "summary": "Joint workshop",
        "outcome": "", "sensitivity": "standard", "version": "1",
        "contact_ids": [str(colleague.id)]}, token_from=path)
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    assert _linked(db, interaction.id) == {person.id, colleague.id}
    # the API: a PATCH without it keeps it, one with it is accepted, a new link is refused
    assert api.patch(f"/interactions/{interaction.id}", token,
                     json={"contact_ids": []}).status_code == 200
    assert _linked(db, interaction.id) == {person.id}
    assert api.patch(f"/interactions/{interaction.id}", token,
                     json={"contact_ids": [person.id, colleague.id]}).status_code == 200
    assert _linked(db, interaction.id) == {person.id, colleague.id}
    error = assert_error(api.post("/interactions", token, json={
        "partner_id": partner.id, "kind": "call", "occurred_at": "2026-01-03T10:00:00+00:00",
        "summary": "New call", "contact_ids": [person.id]}), 422, "validation_error")
    assert "contact_ids" in error["fields"]
    assert db.session.scalar(select(Interaction).where(Interaction.summary == "New call")) \
        is None
