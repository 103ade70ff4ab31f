"""The agreement pages: new and edit (messages beside the field, nothing saved), the
agreement page's forms (report received, renew, terminate, The Code's criteria), the
partner page's panel with its badges, and the agreement events on the partner timeline."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import func, select

from crm.lib import timeutil
from crm.models import Agreement
from tests.support.http import csrf_token


def _error_beside(html: str, field: str) -> str:
    """The message rendered beside `field` (the form helpers' invalid-feedback)."""
    found = re.search(rf'id="{re.escape(field)}-error">([^<]*)<', html)
    assert found, f"no message beside {field}"
    return found.group(1)


def test_new_agreement_form_errors_beside_fields_and_nothing_saved(client, db, owner, partner,
                                                                   login_as):
    login_as(owner)
    assert client.get(f"/partners/{partner.id}/agreements/new").status_code == 200
    token = csrf_token(client, f"/partners/{partner.id}/agreements/new")
    response = client.post(f"/partners/{partner.id}/agreements/new", data={
        "csrf_token": token, "kind": "mou", "title": "", "status": "active",
        "signed_on": "2025-05-01", "expires_on": "2025-04-01", "reporting_every_months": "0",
        "renewal_notice_days": "90", "sensitivity": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "required" in _error_beside(html, "title")
    assert "before the signing date" in _error_beside(html, "expires_on")
    assert "1 to 60" in _error_beside(html, "reporting_every_months")
    assert db.session.scalar(select(func.count()).select_from(Agreement)) == 0


def test_create_then_edit_with_a_stale_version(client, db, owner, partner, login_as):
    login_as(owner)
    token = csrf_token(client, f"/partners/{partner.id}/agreements/new")
    response = client.post(f"/partners/{partner.id}/agreements/new", data={
        "csrf_token": token, "kind": "the_code", "title": "Code membership",
        "status": "active", "signed_on": "2025-01-15", "renewal_notice_days": "90",
        "reporting_every_months": "", "sensitivity": ""})
    assert response.status_code == 302
    agreement = db.session.scalars(select(Agreement)).one()
    assert agreement.reporting_every_months == 12
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Code membership" in page and "The Code’s six criteria" in page
    assert page.count('data-criterion-status="not_started"') == 6
    edit = f"/agreements/{agreement.id}/edit"
    assert client.get(edit).status_code == 200
    form = {"csrf_token": token, "kind": "the_code", "title": "Code membership 2025",
            "status": "active", "signed_on": "2025-01-15", "renewal_notice_days": "60",
            "reporting_every_months": "12", "sensitivity": "standard", "version": "1"}
    assert client.post(edit, data=form).status_code == 302
    stale = client.post(edit, data=dict(form, title="Someone else's"))
    assert stale.status_code == 409
    assert "Someone else changed" in stale.get_data(as_text=True)
    db.session.expire_all()
    assert agreement.title == "Code membership 2025" and agreement.renewal_notice_days == 60


def test_page_forms_report_renew_terminate_criterion(client, db, owner, agreement, login_as):
    code = agreement(kind="the_code", title="The Code", reporting_every_months=12)
    login_as(owner)
    page = f"/agreements/{code.id}"
    token = csrf_token(client, page)
    future = (timeutil.now_utc() + timedelta(days=3)).date().isoformat()
    refused = client.post(f"{page}/reports", data={"csrf_token": token, "received_on": future})
    assert refused.status_code == 422
    assert "future" in _error_beside(refused.get_data(as_text=True), "received_on")
    assert client.post(f"{page}/reports", data={
        "csrf_token": token, "received_on": "2026-01-20", "link": "https://example.org/r",
        "summary": "Annual report"}).status_code == 302
    db.session.expire_all()
    assert code.next_report_due_on == date(2027, 1, 20)
    bad = client.post(f"{page}/criteria/2", data={"csrf_token": token,
                                                  "criterion2-status": "finished"})
    assert bad.status_code == 422
    assert "not started" in _error_beside(bad.get_data(as_text=True), "criterion2-status")
    assert client.post(f"{page}/criteria/2", data={
        "csrf_token": token, "criterion2-status": "met",
        "criterion2-note": "All staff trained"}).status_code == 302
    assert client.post(f"{page}/criteria/9", data={
        "csrf_token": token, "criterion9-status": "met"}).status_code == 422
    shown = client.get(page).get_data(as_text=True)
    assert "All staff trained" in shown and 'data-criterion-status="met"' in shown
    no_reason = client.post(f"{page}/terminate", data={"csrf_token": token,
                                                       "termination_reason": ""})
    assert no_reason.status_code == 422
    assert "reason" in _error_beside(no_reason.get_data(as_text=True), "termination_reason")
    renewed = client.post(f"{page}/renew", data={
        "csrf_token": token, "signed_on": "2028-01-10", "starts_on": "2028-02-01",
        "expires_on": "2031-01-31"})
    assert renewed.status_code == 302
    db.session.expire_all()
    assert code.status == "renewed" and renewed.headers["Location"].endswith(
        f"/agreements/{code.successor_id}")
    successor = client.get(renewed.headers["Location"]).get_data(as_text=True)
    assert "Renews" in successor and 'data-criterion-status="met"' in successor
    assert client.post(f"/agreements/{code.successor_id}/terminate", data={
        "csrf_token": token, "termination_reason": "Company closed"}).status_code == 302


def test_partner_panel_badges_and_timeline(client, db, owner, partner, agreement, login_as):
    today = timeutil.now_utc().date()
    expiring = agreement(title="Expiring MoU", signed_on=today - timedelta(days=700),
                         starts_on=today - timedelta(days=700),
                         expires_on=today + timedelta(days=12))
    agreement(title="Overdue Code", kind="the_code", signed_on=today - timedelta(days=800),
              starts_on=today - timedelta(days=800), expires_on=None)
    agreement(title="Lapsed grant", kind="funding", signed_on=today - timedelta(days=900),
              starts_on=None, expires_on=today - timedelta(days=5))
    ended = agreement(title="Ended letter", kind="letter_of_intent")
    old = agreement(title="Old funding", kind="funding", signed_on=today - timedelta(days=60),
                    starts_on=None, expires_on=None)
    from crm.services import agreements as service
    service.terminate(owner, ended, "Superseded")
    service.renew(owner, old, {"title": "New funding", "signed_on": today})
    service.record_report(owner, expiring, {"received_on": today - timedelta(days=1),
                                            "summary": "Quarterly figures"})
    db.session.commit()
    login_as(owner)
    html = client.get(f"/partners/{partner.id}").get_data(as_text=True)
    panel = html[html.index('id="agreements"'):]
    assert "Expires in 12 days" in panel
    assert panel.count('data-badge="report_overdue"') == 1  # the Code's annual report
    assert 'data-badge="expired"' in panel
    timeline = html[html.index('id="timeline"'):]
    for text in ("Agreement signed", "Agreement expired", "Agreement terminated",
                 "Agreement renewed", "Report received", "Quarterly figures", "Superseded",
                 "New funding"):
        assert text in timeline, text


def test_hidden_agreement_is_404_and_not_in_the_panel(client, db, make, owner, partner,
                                                      agreement, login_as):
    secret = agreement(title="Secret MoU", sensitivity="confidential")
    other = make.make_user()
    login_as(other)
    assert client.get(f"/agreements/{secret.id}").status_code == 404
    assert client.get(f"/agreements/{secret.id}/edit").status_code == 404
    html = client.get(f"/partners/{partner.id}").get_data(as_text=True)
    assert "Secret MoU" not in html
