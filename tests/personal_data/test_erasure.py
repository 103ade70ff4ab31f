"""Erasing a person (web with a typed confirmation, API 204) and redacting mentions."""

from __future__ import annotations

from sqlalchemy import select

from tests.support import snapshot
from tests.support.http import csrf_token

from .conftest import EMAIL, NAME, PHONE, leaks


def _audit_values(db, object_type: str, object_id: int, field: str | None = None):
    from crm.models import AuditValue

    stmt = select(AuditValue).where(AuditValue.object_type == object_type,
                                    AuditValue.object_id == str(object_id))
    if field:
        stmt = stmt.where(AuditValue.field == field)
    return list(db.session.scalars(stmt))


def test_erase_page_lists_mentions_and_refuses_a_wrong_name(client, db, person, login_as):
    login_as(person.admin)
    url = f"/contacts/{person.contact.id}/erase"
    page = client.get(url).get_data(as_text=True)
    for key in (f"interaction:{person.interaction.id}:summary",
                f"interaction:{person.interaction.id}:outcome",
                f"follow_up:{person.mention_follow_up.id}:title",
                f"agreement:{person.agreement.id}:notes"):
        assert f'value="{key}" id=' in page and "checked" in page
    assert f"follow_up:{person.follow_up.id}:title" not in page, "no mention there"
    before = snapshot.take(db)
    response = client.post(url, data={"csrf_token": csrf_token(client, url),
                                      "confirmation": "Amara Q",
                                      "mentions": f"interaction:{person.interaction.id}:summary"})
    assert response.status_code == 422
    assert "not this person" in response.get_data(as_text=True)
    assert not snapshot.unchanged_but_refusals(db, before, snapshot.take(db))


def test_web_erasure_erases_everywhere_in_one_go(client, db, person, login_as):
    from crm.models import (
        Agreement,
        AuditEvent,
        Contact,
        Delivery,
        FollowUp,
        IdempotencyKey,
        ImportJob,
        Interaction,
        agreement_contacts,
        interaction_contacts,
    )

    login_as(person.admin)
    url = f"/contacts/{person.contact.id}/erase"
    cid = person.contact.id
    mentions = [f"interaction:{person.interaction.id}:summary",
                f"interaction:{person.interaction.id}:outcome",
                f"follow_up:{person.mention_follow_up.id}:title",
                f"agreement:{person.agreement.id}:title",
                f"agreement:{person.agreement.id}:notes"]
    response = client.post(url, data={"csrf_token": csrf_token(client, url),
                                      "confirmation": f"  {NAME.upper()} ",
                                      "mentions": mentions})
    assert response.status_code == 302, response.data[:300]
    db.session.expire_all()
    contact = db.session.get(Contact, cid)
    assert contact.name == f"Erased contact #{cid}"
    assert (contact.title, contact.email, contact.phone, contact.notes, contact.language,
            contact.lawful_basis, contact.lawful_basis_note, contact.lawful_basis_on) == \
        (None,) * 8
    assert contact.do_not_contact and contact.archived and contact.erased_at is not None
    assert set(db.session.scalars(select(interaction_contacts.c.interaction_id).where(
        interaction_contacts.c.contact_id == cid))) == {person.interaction.id,
                                                        person.plain_interaction.id}
    values = _audit_values(db, "contact", cid)
    assert values and all(v.value is None and v.erased_at for v in values)
    interaction = db.session.get(Interaction, person.interaction.id)
    assert interaction.summary == "Met [redacted] and a colleague about the hotline."
    assert interaction.outcome == "Send the draft to [redacted]"
    assert db.session.get(FollowUp, person.mention_follow_up.id).title == \
        "Ask [redacted] for the annual report"
    agreement = db.session.get(Agreement, person.agreement.id)
    assert (agreement.title, agreement.notes) == ("Hotline MoU with [redacted]",
                                                  "Reports go to [redacted]")
    assert list(db.session.scalars(select(agreement_contacts.c.contact_id).where(
        agreement_contacts.c.agreement_id == agreement.id))) == [cid], "still a signatory"
    assert [k.key for k in db.session.scalars(select(IdempotencyKey))] == ["k-2"]
    job = db.session.scalars(select(ImportJob)).one()
    assert not leaks(job.content + str(job.results)) and "[erased]" in job.content
    assert "Keep Me" in job.content
    delivery = db.session.scalars(select(Delivery)).one()
    assert not leaks(f"{delivery.subject} {delivery.last_error}")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contact.erase")
                               ).one()
    assert event.changes is None and event.object_id == str(cid)
    assert event.details["mentions_redacted"] == 5 and event.details["idempotency_keys"] == 1
    assert event.details["import_jobs"] == 1 and event.details["deliveries"] == 1
    assert not leaks(str(event.details))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "erased" in page.lower() and not leaks(page)
    # a second erasure changes nothing
    again = client.post(url, data={"csrf_token": csrf_token(client, "/"),
                                   "confirmation": contact.name})
    assert again.status_code == 302
    assert db.session.query(AuditEvent).filter_by(action="contact.erase").count() == 1


def test_api_erase_is_204_twice_and_404_or_403_for_others(client, db, person, make):
    from crm.models import AuditEvent, Contact
    from crm.services.accounts import tokens

    auth = {"Authorization": f"Bearer {person.token}"}
    url = f"/api/v1/contacts/{person.contact.id}/erase"
    staff_token = tokens.create_token(person.staff, "staff")[1]
    stranger = make.make_user("staff")
    hidden_partner = make.make_partner(stranger, sensitivity="confidential")
    hidden = make.make_contact(hidden_partner)
    db.session.commit()
    staff_auth = {"Authorization": f"Bearer {staff_token}"}

    assert client.post(url, headers=staff_auth).status_code == 403
    assert client.post(f"/api/v1/contacts/{hidden.id}/erase", headers=staff_auth
                       ).status_code == 404
    assert client.post("/api/v1/contacts/987654/erase", headers=auth).status_code == 404
    assert client.post(url, headers=auth, json={"redact_mentions": "yes"}).status_code == 422
    assert db.session.get(Contact, person.contact.id).erased_at is None

    first = client.post(url, headers=auth)
    assert first.status_code == 204 and first.data == b""
    before = snapshot.take(db)
    second = client.post(url, headers=auth, json={"redact_mentions": True})
    assert second.status_code == 204
    changed = snapshot.changes(before, snapshot.take(db))
    assert set(changed) <= {"api_tokens"}, changed  # the token's last use, nothing else
    assert db.session.query(AuditEvent).filter_by(action="contact.erase").count() == 1
    db.session.expire_all()
    assert db.session.get(Contact, person.contact.id).email is None


def test_api_erase_can_leave_mentions(client, db, person):
    from crm.models import Interaction

    response = client.post(f"/api/v1/contacts/{person.contact.id}/erase",
                           headers={"Authorization": f"Bearer {person.token}"},
                           json={"redact_mentions": False})
    assert response.status_code == 204
    db.session.expire_all()
    assert NAME in db.session.get(Interaction, person.interaction.id).summary


def test_redact_replaces_audits_and_scrubs_older_values(db, person):
    from crm.models import AuditEvent, Interaction
    from crm.services import interactions
    from crm.services.personal_data import erasure

    interactions.update_interaction(person.staff, person.interaction,
                                    {"summary": f"Met {NAME} ({PHONE}) again."})
    db.session.commit()
    version = person.interaction.version
    changed = erasure.redact(person.admin, "interaction", person.interaction.id, "summary",
                             erasure.terms_of(person.contact))
    db.session.commit()
    assert changed
    interaction = db.session.get(Interaction, person.interaction.id)
    assert interaction.summary == "Met [redacted] ([redacted]) again."
    assert interaction.version == version + 1
    summaries = _audit_values(db, "interaction", person.interaction.id, "summary")
    assert len(summaries) >= 2 and all(v.value is None for v in summaries)
    assert any(v.value for v in _audit_values(db, "interaction", person.interaction.id,
                                              "outcome")), "other fields keep their history"
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "interaction.redact")).one()
    assert event.changes is None and event.details["field"] == "summary"
    assert not leaks(str(event.details))
    assert not erasure.redact(person.admin, "interaction", person.interaction.id, "summary",
                              erasure.terms_of(person.contact)), "nothing left to redact"


def test_mentions_match_whole_names_and_emails_only(db, person, make):
    from crm.services.personal_data import erasure

    make.make_interaction(person.partner, person.staff,
                          summary=f"Spoke to {NAME}son, not our contact")
    make.make_follow_up(person.partner, person.staff, title=f"mail {EMAIL.upper()} today")
    db.session.commit()
    found = {(m.object_type, m.field, m.text) for m in erasure.find_mentions(person.contact)}
    assert ("follow_up", "title", f"mail {EMAIL.upper()} today") in found
    assert not any("son, not" in text for *_, text in found)
    person.contact.name = "Al"
    person.contact.email = None
    person.contact.phone = None
    assert erasure.find_mentions(person.contact) == [], "names under 3 characters are ignored"


def test_redact_one_mention_from_the_erase_page(client, db, person, login_as):
    from crm.models import Contact, FollowUp

    login_as(person.admin)
    url = f"/contacts/{person.contact.id}/mentions/redact"
    key = f"follow_up:{person.mention_follow_up.id}:title"
    response = client.post(url, data={"csrf_token": csrf_token(client, "/"), "mention": key})
    assert response.status_code == 302
    db.session.expire_all()
    assert "[redacted]" in db.session.get(FollowUp, person.mention_follow_up.id).title
    assert db.session.get(Contact, person.contact.id).erased_at is None, "not erased"
    bogus = client.post(url, data={"csrf_token": csrf_token(client, "/"),
                                   "mention": "follow_up:999999:title"})
    assert bogus.status_code == 302


def test_staff_may_not_erase_or_redact(client, db, person, login_as):
    login_as(person.staff)
    token = csrf_token(client, "/")
    before = snapshot.take(db)
    assert client.get(f"/contacts/{person.contact.id}/erase").status_code == 403
    assert client.post(f"/contacts/{person.contact.id}/erase",
                       data={"csrf_token": token, "confirmation": NAME}).status_code == 403
    assert client.post(f"/contacts/{person.contact.id}/mentions/redact",
                       data={"csrf_token": token, "mention": "x"}).status_code == 403
    assert not snapshot.unchanged_but_refusals(db, before, snapshot.take(db))


def test_the_contact_page_panel_offers_export_and_erasure_to_admins(client, db, person,
                                                                    login_as):
    from crm.services.personal_data import erasure

    login_as(person.admin)
    page = client.get(f"/contacts/{person.contact.id}").get_data(as_text=True)
    assert "Download personal data (JSON)" in page and "Erase this person…" in page
    assert f"/contacts/{person.contact.id}/erase" in page
    erasure.erase_contact(person.admin, person.contact)
    db.session.commit()
    page = client.get(f"/contacts/{person.contact.id}").get_data(as_text=True)
    assert "The download holds what remains" in page and "Erase this person…" not in page
    erase_page = client.get(f"/contacts/{person.contact.id}/erase").get_data(as_text=True)
    assert "Nothing more to do" in erase_page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login_as(person.staff)
    page = client.get(f"/contacts/{person.contact.id}")
    assert page.status_code == 200 and "Download personal data" not in page.get_data(
        as_text=True)


def test_a_search_for_the_person_is_kept_as_an_erasable_value(client, db, person, login_as):
    """An export filtered by their name leaves an audit event; the typed search is an audit
    value, so erasure scrubs it (and any other audit value naming them) and the audit page
    reads "(erased)"."""
    from crm.models import AuditEvent, AuditValue
    from crm.services import audit

    login_as(person.admin)
    assert client.get("/exports/contacts.csv", query_string={"q": NAME}).status_code == 200
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")
                               .order_by(AuditEvent.id.desc())).first()
    assert audit.is_ref(event.details["filters"]["q"]), event.details
    assert NAME in str(audit.substitute(event.details, audit.resolve([event])))
    assert client.post(f"/api/v1/contacts/{person.contact.id}/erase",
                       headers={"Authorization": f"Bearer {person.token}"}).status_code == 204
    db.session.expire_all()
    named = [v.value for v in db.session.scalars(select(AuditValue)) if v.value
             and leaks(v.value)]
    assert named == []
    rows = [f"{e.changes} {e.details}" for e in db.session.scalars(select(AuditEvent))]
    assert not any(leaks(row) for row in rows)
    page = client.get("/admin/audit?action=export").get_data(as_text=True)
    assert "(erased)" in page and not leaks(page)
