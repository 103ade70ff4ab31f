"""crm.services.agreements: every bad input the issue names is refused with the field named
and nothing half-saved; the lifecycle (report received, renew, terminate, status moves);
The Code's criteria; sensitivity defaults and floors; signatories; the audit trail."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from crm.lib import timeutil
from crm.models import Agreement, AgreementReport, AuditEvent, CodeCriterion
from crm.services import access, agreements, audit
from crm.services.errors import ConflictError, ValidationError


def _counts(db) -> tuple[int, int, int, int]:
    return tuple(db.session.scalar(select(func.count()).select_from(m))
                 for m in (Agreement, AgreementReport, CodeCriterion, AuditEvent))


@pytest.mark.parametrize(("fields", "field"), [
    ({"signed_on": date(2025, 5, 1), "expires_on": date(2025, 4, 30)}, "expires_on"),
    ({"reporting_every_months": 0}, "reporting_every_months"),
    ({"reporting_every_months": "61"}, "reporting_every_months"),
    ({"reporting_every_months": "twelve"}, "reporting_every_months"),
    ({"title": ""}, "title"),
    ({"title": "x" * 301}, "title"),
    ({"document_ref": "r" * 501}, "document_ref"),
    ({"kind": "treaty"}, "kind"),
    ({"status": "renewed"}, "status"),
    ({"status": "signed", "signed_on": None}, "signed_on"),
    ({"sensitivity": "secret"}, "sensitivity"),
    ({"renewal_notice_days": -1}, "renewal_notice_days"),
    ({"signed_on": "2025-13-01"}, "signed_on"),
])
def test_bad_input_names_the_field_and_saves_nothing(db, owner, partner, fields, field):
    db.session.commit()
    before = _counts(db)
    data = {"kind": "the_code", "title": "Code membership", "status": "active",
            "signed_on": date(2025, 1, 1), **fields}
    with pytest.raises(ValidationError) as caught:
        agreements.create(owner, partner, data)
    db.session.rollback()
    assert field in caught.value.fields, caught.value.fields
    assert _counts(db) == before


def test_sensitivity_never_below_the_partner_and_police_mous_restricted(db, make, owner):
    police = make.make_partner(owner, sector="law_enforcement", country="FR")
    mou = agreements.create(owner, police, {"kind": "mou", "title": "MoU with the unit"})
    assert mou.sensitivity == "restricted"
    funding = agreements.create(owner, police, {"kind": "funding", "title": "Grant"})
    assert funding.sensitivity == "standard"
    secret = make.make_partner(owner, sensitivity="confidential")
    assert agreements.create(owner, secret, {"kind": "mou", "title": "x"}).sensitivity \
        == "confidential"
    with pytest.raises(ValidationError) as caught:
        agreements.create(owner, secret, {"kind": "mou", "title": "x",
                                          "sensitivity": "restricted"})
    assert "less sensitive" in caught.value.fields["sensitivity"]


def test_the_code_gets_six_criteria_and_annual_reporting(agreement):
    code = agreement(kind="the_code", title="The Code")
    agreements.load_people([code])
    assert [c.number for c in code.criteria] == [1, 2, 3, 4, 5, 6]
    assert {c.status for c in code.criteria} == {"not_started"}
    assert code.reporting_every_months == 12
    assert code.next_report_due_on == date(2026, 2, 1)  # the start + 12 months


def test_update_criterion(db, owner, agreement):
    code = agreement(kind="the_code", title="The Code")
    version = code.version
    criterion = agreements.update_criterion(owner, code, 3, "in_progress", "Clause drafted")
    db.session.commit()
    assert (criterion.status, criterion.note, criterion.updated_by_id) == \
        ("in_progress", "Clause drafted", owner.id)
    assert code.version == version + 1
    stamp = criterion.updated_at
    agreements.update_criterion(owner, code, "3", "in_progress", "Clause drafted")
    assert criterion.updated_at == stamp and code.version == version + 1  # nothing changed
    for number in (0, 7, "x", True, None, -1):
        with pytest.raises(ValidationError) as caught:
            agreements.update_criterion(owner, code, number, "met")
        assert "number" in caught.value.fields
    with pytest.raises(ValidationError) as caught:
        agreements.update_criterion(owner, code, 1, "done")
    assert "status" in caught.value.fields
    mou = agreement(title="Plain MoU")
    with pytest.raises(ValidationError) as caught:
        agreements.update_criterion(owner, mou, 1, "met")
    assert "number" in caught.value.fields
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "agreement.criterion")).one()
    assert audit.readable_changes(event) == {"criterion_3.status": ["not_started", "in_progress"],
                             "criterion_3.note": [None, "Clause drafted"]}


def test_report_received_sets_due_and_next_due(db, owner, agreement):
    a = agreement(reporting_every_months=6)
    assert a.next_report_due_on == date(2025, 8, 1)
    report = agreements.record_report(owner, a, {"received_on": "2025-08-10",
                                                 "link": "example.org/report",
                                                 "summary": "First report"})
    db.session.commit()
    assert report.due_on == date(2025, 8, 1)
    assert report.link == "https://example.org/report"
    assert a.last_report_on == date(2025, 8, 10)
    assert a.next_report_due_on == date(2026, 2, 10)
    # an older report does not move the dates back
    older = agreements.record_report(owner, a, {"received_on": "2025-03-01"})
    assert older.due_on == date(2026, 2, 10) and a.last_report_on == date(2025, 8, 10)
    assert a.version == 3


def test_report_in_the_future_or_without_a_date_is_refused(db, owner, agreement):
    a = agreement(reporting_every_months=12)
    before = _counts(db)
    tomorrow = timeutil.now_utc().date() + timedelta(days=2)
    for data, field in (({"received_on": tomorrow}, "received_on"), ({}, "received_on"),
                        ({"received_on": "2025-01-01", "link": "not a link"}, "link")):
        with pytest.raises(ValidationError) as caught:
            agreements.record_report(owner, a, data)
        db.session.rollback()
        assert field in caught.value.fields
    assert _counts(db) == before
    draft = agreement(status="draft")
    with pytest.raises(ConflictError):
        agreements.record_report(owner, draft, {"received_on": "2025-01-01"})


def test_renew_closes_the_old_and_links_the_successor(db, make, owner, partner, agreement):
    contact = make.make_contact(partner)
    colleague = make.make_user()
    code = agreement(kind="the_code", title="The Code", contact_ids=[contact.id],
                     staff_ids=[colleague.id], sensitivity="restricted")
    agreements.update_criterion(owner, code, 1, "met", "Policy adopted")
    successor = agreements.renew(owner, code, {"signed_on": "2028-01-15",
                                               "starts_on": "2028-02-01",
                                               "expires_on": "2031-01-31"})
    db.session.commit()
    assert code.status == "renewed" and code.successor_id == successor.id
    agreements.load_people([successor])
    assert (successor.partner_id, successor.kind, successor.title, successor.sensitivity,
            successor.reporting_every_months, successor.status) == \
        (partner.id, "the_code", "The Code", "restricted", 12, "active")
    assert [c.id for c in successor.contacts] == [contact.id]
    assert [u.id for u in successor.staff] == [colleague.id]
    assert successor.criteria[0].status == "met"
    assert successor.next_report_due_on == date(2029, 2, 1)
    with pytest.raises(ConflictError):
        agreements.renew(owner, code, {})
    with pytest.raises(ValidationError) as caught:
        agreements.renew(owner, successor, {"signed_on": "2031-01-01",
                                            "expires_on": "2030-01-01"})
    assert "expires_on" in caught.value.fields


def test_terminate_needs_a_reason(db, owner, agreement):
    a = agreement()
    with pytest.raises(ValidationError) as caught:
        agreements.terminate(owner, a, "  ")
    assert "termination_reason" in caught.value.fields
    db.session.rollback()
    agreements.terminate(owner, a, "The unit was dissolved")
    db.session.commit()
    assert (a.status, a.termination_reason, a.terminated_on) == \
        ("terminated", "The unit was dissolved", timeutil.now_utc().date())
    assert db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.object_type == "agreement", AuditEvent.action == "agreement.terminate"))
    with pytest.raises(ConflictError):
        agreements.terminate(owner, a, "again")


def test_status_moves(db, owner, agreement):
    a = agreement(status="draft", signed_on=None)
    agreements.update(owner, a, {"status": "negotiation"})
    db.session.commit()
    with pytest.raises(ValidationError) as caught:
        agreements.update(owner, a, {"status": "signed"})
    assert "signed_on" in caught.value.fields
    db.session.rollback()
    agreements.update(owner, a, {"status": "signed", "signed_on": "2025-01-01"})
    agreements.update(owner, a, {"status": "active"})
    db.session.commit()
    with pytest.raises(ValidationError) as caught:
        agreements.update(owner, a, {"status": "draft"})
    assert "expired, terminated" in caught.value.fields["status"]
    db.session.rollback()
    agreements.update(owner, a, {"status": "expired"})
    with pytest.raises(ValidationError) as caught:
        agreements.update(owner, a, {"status": "active"})
    assert "renew it instead" in caught.value.fields["status"]


def test_update_bumps_version_only_on_change_and_audits(db, owner, agreement):
    a = agreement()
    agreements.update(owner, a, {"title": "Memorandum"})
    assert a.version == 1
    agreements.update(owner, a, {"title": "Memorandum of understanding",
                                 "reporting_every_months": 12})
    db.session.commit()
    assert a.version == 2 and a.next_report_due_on == date(2026, 2, 1)
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "agreement.update")).one()
    assert audit.readable_changes(event)["title"] == ["Memorandum", "Memorandum of understanding"]
    # an expiry moved before the (unchanged) signing date is refused
    with pytest.raises(ValidationError) as caught:
        agreements.update(owner, a, {"expires_on": "2024-12-31"})
    assert "expires_on" in caught.value.fields


def test_signatories_must_be_visible_contacts_of_the_partner_and_active_users(
        db, make, owner, partner, agreement):
    other = make.make_partner(owner)
    elsewhere = make.make_contact(other)
    hidden = make.make_contact(partner, sensitivity="confidential")
    gone = make.make_user(active=False)
    staff = make.make_user()
    for field, value in (("contact_ids", [elsewhere.id]), ("staff_ids", [gone.id]),
                         ("contact_ids", ["x"])):
        with pytest.raises(ValidationError) as caught:
            agreements.create(owner, partner, {"kind": "mou", "title": "x", field: value})
        db.session.rollback()
        assert field in caught.value.fields
    with pytest.raises(ValidationError):  # the owner may see it; another staff may not
        agreements.create(staff, partner, {"kind": "mou", "title": "x",
                                           "contact_ids": [hidden.id]})


def test_viewers_change_nothing(db, make, partner, agreement):
    a = agreement()
    viewer = make.make_user("viewer")
    with pytest.raises(access.Forbidden):
        agreements.update(viewer, a, {"title": "no"})
    with pytest.raises(access.Forbidden):
        agreements.record_report(viewer, a, {"received_on": "2025-01-01"})
    with pytest.raises(access.Forbidden):
        agreements.create(viewer, partner, {"kind": "mou", "title": "no"})


def test_add_months_clamps_to_the_month_end():
    assert agreements.add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert agreements.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert agreements.add_months(date(2025, 11, 15), 14) == date(2027, 1, 15)


def test_badges():
    a = Agreement(status="active", expires_on=date(2026, 1, 20),
                  next_report_due_on=date(2025, 12, 1))
    today = date(2026, 1, 1)
    assert agreements.badges(a, today) == [("expiring", "expires in 19 days"),
                                           ("report_overdue", "report overdue")]
    a.expires_on = date(2025, 12, 31)
    assert agreements.badges(a, today)[0] == ("expired", "expired")
    a.status = "renewed"
    assert agreements.badges(a, today) == []
