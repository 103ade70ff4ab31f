"""The retention page (policy, preview, last run) and the contacts offered for erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from crm.lib import timeutil
from crm.models import Agreement, AuditEvent, Contact, agreement_contacts, interaction_contacts
from crm.models.settings import SiteSetting
from crm.services.personal_data import retention
from tests.support.html import field_error, parse
from tests.support.http import csrf_token

GOOD = {"standard_years": "10", "standard_action": "redact",
        "restricted_years": "", "restricted_action": "redact",
        "confidential_years": "5", "confidential_action": "delete"}


def _post(client, **fields):
    token = csrf_token(client, "/admin/retention")
    return client.post("/admin/retention", data={"csrf_token": token, **GOOD, **fields})


def _error_beside(body: str, field: str) -> str:
    """The text of the error tied to `field` ("" when there is none)."""
    for node in parse(body).iter():
        if node.attrs.get("id") == f"{field}-error":
            return node.text()
    return ""


def test_the_policy_is_saved_audited_and_shown(db, client, make, login_as):
    admin = make.make_user("admin")
    login_as(admin)
    page = client.get("/admin/retention")
    assert page.status_code == 200
    assert "Kept forever" in page.get_data(as_text=True)  # the default: nothing destroyed
    assert retention.get_policy() == retention.default_policy()

    saved = _post(client, standard_years=" 10 ")
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/admin/retention")
    assert "Retention policy saved. The next nightly run will change no interaction." in \
        client.get("/admin/retention").get_data(as_text=True)
    db.session.expire_all()
    policy = retention.get_policy()
    assert policy["standard"] == retention.Rule(10, "redact")
    assert policy["restricted"] == retention.Rule(None, "redact")
    assert policy["confidential"] == retention.Rule(5, "delete")
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "retention.policy")).one()
    assert event.actor_id == admin.id
    assert event.changes == {"standard_years": [None, 10], "confidential_years": [None, 5],
                             "confidential_action": ["redact", "delete"]}
    again = _post(client)  # the same values: nothing to audit
    assert again.status_code == 302
    assert db.session.scalar(select(AuditEvent.id).where(
        AuditEvent.action == "retention.policy", AuditEvent.id != event.id)) is None
    body = client.get("/admin/retention").get_data(as_text=True)
    assert "Redact after 10 years" in body and "Delete after 5 years" in body


@pytest.mark.parametrize("bad", ["0", "-1", "1.5", "ten", "101", "9" * 40,
                                 "<script>alert(1)</script>", "١٢"])
def test_a_bad_number_of_years_is_refused_beside_the_field(db, client, make, login_as, bad):
    login_as(make.make_user("admin"))
    answer = _post(client, restricted_years=bad)
    body = answer.get_data(as_text=True)
    assert answer.status_code == 422
    message = "whole number of years from 1 to 100"
    assert field_error(parse(body), "restricted_years", message) is None
    assert message in _error_beside(body, "restricted_years")
    assert _error_beside(body, "standard_years") == ""
    assert "<script>alert(1)" not in body
    db.session.expire_all()
    assert db.session.get(SiteSetting, retention.SETTING_KEY) is None
    assert db.session.scalar(select(AuditEvent.id).where(
        AuditEvent.action == "retention.policy")) is None


def test_an_unknown_action_is_refused_beside_the_field(db, client, make, login_as):
    login_as(make.make_user("admin"))
    answer = _post(client, standard_action="purge")
    assert answer.status_code == 422
    assert _error_beside(answer.get_data(as_text=True), "standard_action")
    assert db.session.get(SiteSetting, retention.SETTING_KEY) is None


def test_the_page_previews_the_next_run_and_shows_the_last(db, client, make, login_as):
    admin, staff = make.make_user("admin"), make.make_user("staff")
    partner = make.make_partner(staff)
    now = timeutil.now_utc()
    for years_ago in (11, 12, 12):
        make.make_interaction(partner, staff, occurred_at=now.replace(year=now.year - years_ago)
                              - timedelta(days=2))
    retention.set_policy(admin, {**retention.default_policy(),
                                 "standard": retention.Rule(10, "redact")})
    login_as(admin)
    body = client.get("/admin/retention").get_data(as_text=True)
    assert "would redact 3" in body
    assert f"{now.year - 12}: 2" in body and f"{now.year - 11}: 1" in body
    assert "never been applied" in body

    retention.apply(now)
    db.session.commit()
    body = client.get("/admin/retention").get_data(as_text=True)
    assert "Standard: 3 redacted" in body
    assert "The next run would change no interaction." in body
    trail = client.get("/admin/audit")  # the run's and the policy's events read there too
    assert trail.status_code == 200 and "Standard years" in trail.get_data(as_text=True)


def _aged(db, contact: Contact, years: int) -> None:
    db.session.execute(update(Contact).where(Contact.id == contact.id).values(
        updated_at=timeutil.now_utc() - timedelta(days=365 * years + 3)))


def test_candidates_are_quiet_contacts_with_no_interaction_left(db, client, make, login_as):
    admin, staff = make.make_user("admin"), make.make_user("staff")
    partner = make.make_partner(staff, name="Candidate Partner")
    secret = make.make_partner(staff, sensitivity="restricted")
    quiet = make.make_contact(partner, name="Quiet Person")
    attending = make.make_contact(partner, name="Attending Person")
    recent = make.make_contact(partner, name="Recent Person")
    forever = make.make_contact(secret, name="Restricted Person")
    erased = make.make_contact(partner, name="Erased contact", erased_at=timeutil.now_utc())
    signatory = make.make_contact(partner, name="Signing Person")
    mou = Agreement(partner_id=partner.id, kind="mou", title="Old MoU")
    db.session.add(mou)
    db.session.flush()
    db.session.execute(agreement_contacts.insert().values(agreement_id=mou.id,
                                                          contact_id=signatory.id))
    old = make.make_interaction(partner, staff, occurred_at=datetime(2012, 1, 5, tzinfo=UTC))
    db.session.execute(interaction_contacts.insert().values(interaction_id=old.id,
                                                            contact_id=attending.id))
    for contact in (quiet, attending, forever, erased, signatory):
        _aged(db, contact, 6)
    _aged(db, recent, 4)
    login_as(admin)
    empty = client.get("/admin/personal-data/candidates").get_data(as_text=True)
    assert "kept forever, so no contact is offered" in empty
    assert "Quiet Person" not in empty

    retention.set_policy(admin, {**retention.default_policy(),
                                 "standard": retention.Rule(5, "redact")})
    db.session.commit()
    page = client.get("/admin/personal-data/candidates")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Quiet Person" in body and f"/contacts/{quiet.id}/erase" in body
    for name in ("Attending Person", "Recent Person", "Restricted Person", "Erased contact",
                 "Signing Person"):
        assert name not in body, name
    assert "1 contact" in body

    retention.apply()  # the old meeting is redacted: its attendance goes
    db.session.commit()
    body = client.get("/admin/personal-data/candidates").get_data(as_text=True)
    assert "Attending Person" in body and "2 contacts" in body


def test_no_candidate_says_what_that_means(db, client, make, login_as):
    admin = make.make_user("admin")
    retention.set_policy(admin, {**retention.default_policy(),
                                 "standard": retention.Rule(3, "delete")})
    login_as(admin)
    body = client.get("/admin/personal-data/candidates").get_data(as_text=True)
    assert "No contact qualifies" in body
    assert "standard: 3 years" in body and "restricted: kept forever" in body
