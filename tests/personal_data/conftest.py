"""A person held in every place the CRM keeps personal data, made through the services (so
the audit trail holds their values as it would in production)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest

NAME = "Amara Quillfeather"
EMAIL = "amara.quill@example.net"
OLD_EMAIL = "a.quillfeather@example.net"
PHONE = "+66 2 555 0199"
OTHER_NAME = "Zebulon Otherperson"
OTHER_EMAIL = "zebulon.other@example.net"
#: every string that names the person
SECRETS = (NAME, EMAIL, OLD_EMAIL, PHONE)


@dataclass
class Person:
    admin: object
    staff: object
    partner: object
    contact: object
    other: object
    interaction: object
    plain_interaction: object
    follow_up: object
    mention_follow_up: object
    agreement: object  #: signed by the person, and naming them in its title and notes
    token: str  #: the admin's API token


def build_person(db, make) -> Person:
    """Commit a world: the person at a partner, met twice, named in free text, in an import
    file, a cached API answer and an email's subject; another contact met with them."""
    from crm.lib import timeutil
    from crm.models import Delivery, IdempotencyKey, ImportJob
    from crm.services import agreements, contacts, followups, interactions
    from crm.services.accounts import tokens

    admin = make.make_user("admin", name="Erasing Admin", email="eraser@example.org")
    staff = make.make_user("staff", name="Staff Member", email="staffer@example.org")
    partner = make.make_partner(staff, name="Harbour Police Unit", sector="law_enforcement")
    contact = contacts.create_contact(admin, partner, {
        "name": NAME, "title": "Liaison officer", "email": OLD_EMAIL, "phone": PHONE,
        "language": "en", "notes": f"Prefers calls; reach {NAME} after 10"})
    contacts.update_contact(admin, contact, {"email": EMAIL})
    contact.lawful_basis = "legitimate_interests"
    contact.lawful_basis_note = "Working contact of a partner agency"
    contact.lawful_basis_on = timeutil.now_utc().date()
    other = contacts.create_contact(admin, partner, {"name": OTHER_NAME, "email": OTHER_EMAIL})
    when = timeutil.now_utc() - timedelta(days=3)
    interaction = interactions.log_interaction(staff, partner, {
        "kind": "meeting", "occurred_at": when,
        "summary": f"Met {NAME} and a colleague about the hotline.",
        "outcome": f"Send the draft to {EMAIL.upper()}", "contact_ids": [contact.id, other.id],
        "staff_ids": [staff.id], "sensitivity": "restricted"})
    plain = interactions.log_interaction(staff, partner, {
        "kind": "call", "occurred_at": when - timedelta(days=1),
        "summary": "Call about training dates", "contact_ids": [contact.id]})
    follow_up = followups.create_follow_up(staff, partner, {
        "title": "Book the training room", "due_at": when + timedelta(days=10),
        "assignee_id": staff.id, "interaction_id": interaction.id})
    mention = followups.create_follow_up(staff, partner, {
        "title": f"Ask {NAME.lower()} for the annual report",
        "due_at": when + timedelta(days=12), "assignee_id": staff.id})
    agreement = agreements.create(staff, partner, {
        "kind": "mou", "title": f"Hotline MoU with {NAME}", "status": "draft",
        "notes": f"Reports go to {EMAIL}", "contact_ids": [contact.id]})
    _, plain_token = tokens.create_token(admin, "erasure test")
    db.session.flush()
    job = ImportJob(created_by_id=admin.id, filename="contacts.csv", status="done",
                    content=f"name,email,phone\n{NAME},{EMAIL},{PHONE}\nKeep Me,k@example.org,1\n",
                    results=[{"row": 2, "name": NAME, "outcome": "created",
                              "reason": f"new contact {NAME}"}],
                    total_rows=2)
    key = IdempotencyKey(user_id=admin.id, key="k-1", request_hash="0" * 64, status=201,
                         body=json.dumps({"name": NAME, "email": EMAIL}), headers={})
    keep_key = IdempotencyKey(user_id=admin.id, key="k-2", request_hash="1" * 64, status=201,
                              body=json.dumps({"name": "Someone Else"}), headers={})
    delivery = Delivery(kind="reminder_due", recipient_id=staff.id, dedupe_key="pd:1",
                        status="failed", subject=f"Due: ask {NAME} for the annual report",
                        last_error=f"550 rejected for {EMAIL}")
    db.session.add_all([job, key, keep_key, delivery])
    db.session.commit()
    return Person(admin, staff, partner, contact, other, interaction, plain, follow_up,
                  mention, agreement, plain_token)


@pytest.fixture
def person(app, db, make) -> Person:
    return build_person(db, make)


def leaks(text: str) -> list[str]:
    """The person's strings found in `text` (case-insensitive)."""
    low = text.lower()
    return [s for s in SECRETS if s.lower() in low]
