"""A person's data as one JSON document: everything about them, nothing about others."""

from __future__ import annotations

import json

from tests.support import factories

from .conftest import EMAIL, NAME, OLD_EMAIL, OTHER_EMAIL, OTHER_NAME, PHONE


def _download(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "application/json"
    return response, json.loads(response.data)


def test_contact_export_has_every_field_and_names_no_one_else(client, db, person, login_as):
    from crm.models import Agreement, AuditEvent, Contact

    mou = Agreement(partner_id=person.partner.id, kind="mou", title="Hotline MoU",
                    status="signed", contacts=[person.contact, person.other],
                    staff=[person.staff])
    db.session.add(mou)
    db.session.commit()
    login_as(person.admin)
    response, doc = _download(client, f"/contacts/{person.contact.id}/personal-data")
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="contact-{person.contact.id}-personal-data.json"'
    record = doc["contact"]
    assert set(Contact.__table__.columns.keys()) <= set(record), "every column is exported"
    assert record["name"] == NAME and record["email"] == EMAIL and record["phone"] == PHONE
    assert record["lawful_basis"] == "legitimate_interests"
    assert record["lawful_basis_note"] and record["lawful_basis_on"]
    assert record["do_not_contact"] is False
    assert record["partner_id"] == person.partner.id
    assert record["partner_name"] == "Harbour Police Unit"
    assert record["created_at"].endswith("+00:00")

    met = {i["id"]: i for i in doc["interactions"]}
    assert set(met) == {person.interaction.id, person.plain_interaction.id}
    meeting = met[person.interaction.id]
    assert meeting["summary"] == person.interaction.summary
    assert meeting["outcome"] == person.interaction.outcome
    assert meeting["kind"] == "meeting" and meeting["partner_name"] == "Harbour Police Unit"
    assert meeting["occurred_at"].endswith("+00:00")
    assert meeting["other_attendees"] == ["another contact"]
    assert meeting["staff_present"] == 1
    assert {f["id"] for f in doc["follow_ups"]} == {person.follow_up.id,
                                                     person.mention_follow_up.id}

    assert [(a["id"], a["title"]) for a in doc["agreements_signed"]] == [
        (person.agreement.id, person.agreement.title), (mou.id, "Hotline MoU")]

    events = doc["audit_events"]
    assert {e["action"] for e in events} >= {"contact.create", "contact.update"}
    update = next(e for e in events if e["action"] == "contact.update")
    assert update["changes"]["email"] == [OLD_EMAIL, EMAIL], "personal values resolved"

    text = response.get_data(as_text=True)
    assert OTHER_NAME not in text and OTHER_EMAIL not in text
    assert "Staff Member" not in text and "staffer@example.org" not in text
    exported = db.session.query(AuditEvent).filter_by(
        action="contact.export_personal_data", object_id=str(person.contact.id)).one()
    assert exported.actor_id == person.admin.id and exported.details["format"] == "json"


def test_api_export_is_the_same_document(client, person):
    response = client.get(f"/api/v1/contacts/{person.contact.id}/personal-data",
                          headers={"Authorization": f"Bearer {person.token}"})
    assert response.status_code == 200
    assert response.json["contact"]["email"] == EMAIL
    assert OTHER_EMAIL not in response.get_data(as_text=True)


def test_export_query_count_does_not_grow_with_data(db, person, make, count_queries):
    from crm.services.personal_data import export

    with count_queries() as small:
        export.contact_document(person.contact)
    with count_queries() as small_user:
        export.user_document(person.staff)
    for _ in range(15):
        interaction = make.make_interaction(person.partner, person.staff,
                                            contacts=[person.contact, person.other])
        make.make_follow_up(person.partner, person.staff, interaction=interaction)
    from crm.services import contacts

    for n in range(5):
        contacts.update_contact(person.admin, person.contact, {"notes": f"note {n}"})
    db.session.commit()
    with count_queries() as big:
        document = export.contact_document(person.contact)
    assert len(document["interactions"]) == 17
    assert big.count == small.count
    with count_queries() as big_user:
        document = export.user_document(person.staff)
    assert len(document["interactions"]) == 17 and len(document["follow_ups_assigned"]) == 17
    assert big_user.count == small_user.count


def test_user_export_has_no_secrets(client, db, person, login_as):
    from crm.models import AuditEvent

    person.staff.totp_secret = "JBSWY3DPEHPK3PXPSECRET"
    person.staff.recovery_codes = ["$argon2id$recovery-hash"]
    from crm.services.accounts import tokens

    row, plain = tokens.create_token(person.staff, "my laptop")
    db.session.commit()
    login_as(person.admin)
    response, doc = _download(client, f"/admin/users/{person.staff.id}/personal-data")
    text = response.get_data(as_text=True)
    for secret in (person.staff.password_hash, "JBSWY3DPEHPK3PXPSECRET", "recovery-hash",
                   row.token_hash, plain):
        assert secret not in text
    assert doc["user"]["email"] == "staffer@example.org"
    assert [t["name"] for t in doc["api_tokens"]] == ["my laptop"]
    assert {i["id"] for i in doc["interactions"]} == {person.interaction.id,
                                                       person.plain_interaction.id}
    assert {f["id"] for f in doc["follow_ups_assigned"]} == {person.follow_up.id,
                                                              person.mention_follow_up.id}
    assert doc["audit_events_by_them"], "their own actions are listed"
    assert NAME not in text, "the values of records they changed are not theirs"
    assert db.session.query(AuditEvent).filter_by(action="user.export_personal_data").count() == 1


def test_exports_are_for_admins_only(client, db, person, login_as):
    manager = factories.make_user("manager")
    db.session.commit()
    login_as(manager)
    assert client.get(f"/contacts/{person.contact.id}/personal-data").status_code == 403
    assert client.get("/contacts/999999/personal-data").status_code == 404
    assert client.get(f"/admin/users/{person.staff.id}/personal-data").status_code == 403
