"""The log form as people type into it: "when" and "due" phrases, the field order, long
texts refused (never cut) beside the field, every error in one round, the saved entry
highlighted on the page you land on; the API refuses long texts with a field error."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm.extensions import db as _db
from crm.lib import timeutil
from crm.lib.when import parse_due, parse_when
from crm.models import FollowUp, Interaction, Partner
from crm.services import followups
from tests.support.http import csrf_token, post_form

NEW = "/interactions/new"


def _form(partner, **kw):
    data = {"partner_id": str(partner.id), "kind": "call", "occurred_at": "now",
            "summary": "Talked about the hotline", "outcome": "", "sensitivity": ""}
    data.update(kw)
    return data


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def _error(body: str, field: str) -> str:
    """The message shown beside `field` (its invalid-feedback block), or ''."""
    match = re.search(rf'<div class="invalid-feedback d-block" id="{field}-error">([^<]*)</div>',
                      body)
    return match.group(1) if match else ""


def _between(parse, text, tz, before, after):
    """What `parse` gives for `text` at the start or the end of the request (a midnight may
    fall between them)."""
    return {parse(text, tz, before), parse(text, tz, after)}


# --- the page --------------------------------------------------------------------------

def test_fields_come_in_the_order_people_fill_them(client, db, make, login_as):
    user = make.make_user(timezone="Asia/Bangkok")
    partner = make.make_partner(owner=user)
    login_as(user)
    body = client.get(f"{NEW}?partner_id={partner.id}").get_data(as_text=True)
    order = [body.index(f'id="{name}"') for name in (
        "partner_id", "kind", "summary", "outcome", "follow_up_title", "follow_up_due",
        "follow_up_assignee_id", "occurred_at", "sensitivity", "staff_ids")]
    assert order == sorted(order)
    assert re.search(r'<input[^>]*id="occurred_at"[^>]*value="now"', body)
    assert 'type="datetime-local"' not in body and 'type="date"' not in body  # no segments
    assert "Asia/Bangkok" in body  # the zone the phrases are read in
    assert 'aria-keyshortcuts="Alt+F"' in body
    assert 'class="card-footer sticky-save' in body


def test_long_text_fields_carry_maxlength(client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(owner=user)
    login_as(user)
    body = client.get(f"{NEW}?partner_id={partner.id}").get_data(as_text=True)
    assert re.search(r'<textarea[^>]*maxlength="20000"[^>]*name="summary"', body)
    assert re.search(r'<textarea[^>]*maxlength="20000"[^>]*name="outcome"', body)
    assert re.search(r'<input[^>]*maxlength="300"[^>]*name="follow_up_title"', body)
    interaction = make.make_interaction(partner, user)
    db.session.commit()
    edit = client.get(f"/interactions/{interaction.id}/edit").get_data(as_text=True)
    assert re.search(r'<textarea[^>]*maxlength="20000"[^>]*name="summary"', edit)


# --- phrases ---------------------------------------------------------------------------

@pytest.mark.parametrize(("when", "due"), [
    ("yesterday 15:00", "friday"),
    ("today 9:05", "+3d"),
    ("2026-01-15 10:30", "2031-01-15"),
    ("2026-01-15T10:30", "tomorrow"),  # what a datetime-local input sent
])
def test_phrases_are_read_in_the_users_zone(client, db, make, login_as, when, due):
    tz = "Pacific/Auckland"
    user = make.make_user(timezone=tz)
    partner = make.make_partner(owner=user)
    login_as(user)
    before = timeutil.now_utc()
    response = post_form(client, NEW, _form(partner, occurred_at=when,
                                            follow_up_title="Send the MoU", follow_up_due=due,
                                            follow_up_assignee_id=str(user.id)),
                         token_from=NEW)
    after = timeutil.now_utc()
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    interaction = db.session.scalar(select(Interaction))
    assert interaction.occurred_at in _between(parse_when, when, tz, before, after)
    fu = db.session.scalar(select(FollowUp))
    assert fu.due_at in {followups.local_due(day, tz)
                         for day in _between(parse_due, due, tz, before, after)}
    assert timeutil.to_local(fu.due_at, tz).hour == followups.DUE_HOUR


@pytest.mark.parametrize("when", ["now", "", "  Now "])
def test_when_skipped_is_now(client, db, make, login_as, when):
    user = make.make_user(timezone="America/Los_Angeles")
    partner = make.make_partner(owner=user)
    login_as(user)
    before = timeutil.now_utc().replace(microsecond=0)
    response = post_form(client, NEW, _form(partner, occurred_at=when), token_from=NEW)
    assert response.status_code == 302
    occurred = db.session.scalar(select(Interaction.occurred_at))
    assert before <= occurred <= timeutil.now_utc()


def test_no_follow_up_when_nothing_typed_in_it(client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(owner=user)
    login_as(user)
    response = post_form(client, NEW, _form(partner, follow_up_title=" ", follow_up_due="",
                                            follow_up_assignee_id=str(user.id)),
                         token_from=NEW)
    assert response.status_code == 302
    assert _count(db, Interaction) == 1 and _count(db, FollowUp) == 0


@pytest.mark.parametrize(("field", "value", "message"), [
    ("occurred_at", "tomorrow afternoon", "yesterday 15:00"),
    ("occurred_at", "31/12/2025 10:00", "2026-12-01 09:30"),
    ("occurred_at", "yesterday 25:00", "15:00"),
    ("occurred_at", "0001-01-01 00:00", "year between"),
    ("occurred_at", "2100-01-01 10:00", "future"),
    ("occurred_at", "1989-12-31 10:00", "1990"),
    ("follow_up_due", "someday", "friday"),
    ("follow_up_due", "+99999d", "ten years"),
    ("follow_up_due", "2040-01-01", "five years"),
])
def test_bad_phrase_is_refused_beside_its_field(client, db, make, login_as, field, value,
                                                message):
    user = make.make_user(timezone="Pacific/Kiritimati")
    partner = make.make_partner(owner=user)
    login_as(user)
    data = _form(partner, follow_up_title="Call back", follow_up_assignee_id=str(user.id),
                 follow_up_due="tomorrow")
    data[field] = value
    response = post_form(client, NEW, data, token_from=NEW)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message.lower() in _error(body, field).lower(), _error(body, field)
    assert f'aria-describedby="{field}-error"' in body
    assert f'value="{value}"' in body  # what was typed stays, to be corrected
    assert _count(db, Interaction) == 0 and _count(db, FollowUp) == 0


# --- long texts and one round ---------------------------------------------------------

@pytest.mark.parametrize("field", ["summary", "outcome"])
def test_30000_characters_are_refused_not_cut(client, db, make, login_as, field):
    user = make.make_user()
    partner = make.make_partner(owner=user)
    login_as(user)
    response = post_form(client, NEW, _form(partner, **{field: "x" * 30_000}), token_from=NEW)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _error(body, field) == "Keep this under 20,000 characters (this text has 30000)."
    assert body.count("x" * 30_000) == 1  # the text is given back whole, to be shortened
    assert _count(db, Interaction) == 0


def test_line_breaks_count_as_the_browser_counts_them(client, db, make, login_as):
    """maxlength counts a line break as one character; the browser sends it as CRLF."""
    user = make.make_user()
    partner = make.make_partner(owner=user)
    login_as(user)
    text = "a\r\n" * 10_000  # 30,000 characters as sent, 20,000 as typed
    response = post_form(client, NEW, _form(partner, summary=text), token_from=NEW)
    assert response.status_code == 302, _error(response.get_data(as_text=True), "summary")
    assert len(db.session.scalar(select(Interaction.summary))) == 20_000 - 1  # stripped


def test_every_error_is_shown_in_one_round(client, db, make, login_as):
    """The form's own checks (summary, due phrase) and the service's (a date in the future,
    a contact of another partner, an inactive assignee) all come back at once."""
    user = make.make_user()
    gone = make.make_user(active=False)
    partner = make.make_partner(owner=user)
    foreign = make.make_contact(make.make_partner(owner=user))
    login_as(user)
    response = post_form(client, NEW, _form(
        partner, summary="x" * 30_000, occurred_at="2100-01-01 10:00",
        contact_ids=str(foreign.id), follow_up_title="Call back", follow_up_due="someday",
        follow_up_assignee_id=str(gone.id)), token_from=NEW)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "20,000" in _error(body, "summary")
    assert "future" in _error(body, "occurred_at")
    assert "friday" in _error(body, "follow_up_due")
    assert "Choose an active colleague" in _error(body, "follow_up_assignee_id")
    assert "this partner" in body  # the contact's message (a fieldset, no id)
    assert _count(db, Interaction) == 0 and _count(db, FollowUp) == 0


def test_edit_reads_phrases_shows_every_error_and_lands_on_the_entry(client, db, make,
                                                                     login_as):
    user = make.make_user(timezone="Europe/Paris")
    partner = make.make_partner(owner=user)
    interaction = make.make_interaction(partner, user)
    login_as(user)
    path = f"/interactions/{interaction.id}/edit"
    page = client.get(path).get_data(as_text=True)
    shown = timeutil.to_local(interaction.occurred_at, "Europe/Paris").strftime("%Y-%m-%d %H:%M")
    assert f'value="{shown}"' in page
    token = csrf_token(client, path)
    bad = client.post(path, data={"csrf_token": token, "version": "1", "kind": "call",
                                  "occurred_at": "2100-01-01 10:00", "summary": "",
                                  "outcome": "y" * 20_001, "sensitivity": ""})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "future" in _error(body, "occurred_at") and "20,000" in _error(body, "outcome")
    assert "summary" in _error(body, "summary").lower()
    before = timeutil.now_utc()
    good = client.post(path, data={"csrf_token": token, "version": "1", "kind": "call",
                                   "occurred_at": "yesterday 15:00", "summary": "Moved",
                                   "outcome": "", "sensitivity": ""})
    assert good.status_code == 302
    assert good.headers["Location"].endswith(f"#interaction-{interaction.id}")
    db.session.expire_all()
    assert db.session.get(Interaction, interaction.id).occurred_at in _between(
        parse_when, "yesterday 15:00", "Europe/Paris", before, timeutil.now_utc())


def test_saving_lands_on_the_new_entry(client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(owner=user)
    login_as(user)
    response = post_form(client, NEW, _form(partner), token_from=NEW)
    interaction_id = db.session.scalar(select(Interaction.id))
    location = response.headers["Location"]
    assert location.endswith(f"/partners/{partner.id}#interaction-{interaction_id}")
    page = client.get(location.split("#")[0]).get_data(as_text=True)
    assert f'id="interaction-{interaction_id}"' in page


def test_log_post_statements_do_not_grow(client, db, make, count_queries, login_as):
    """The log POST with a contact and a follow-up: 16 statements before the phrases and
    the one-round check (which runs only when the form is refused); 18 since the audit
    trail keeps personal values apart (one INSERT into audit_values for the interaction's
    summary and outcome, one for the follow-up's title: issue 13)."""
    user = make.make_user()
    partner = make.make_partner(owner=user)
    contact = make.make_contact(partner)
    login_as(user)
    token = csrf_token(client, NEW)
    data = {**_form(partner, occurred_at="yesterday 15:00"), "csrf_token": token,
            "contact_ids": str(contact.id), "follow_up_title": "Send the MoU",
            "follow_up_due": "friday", "follow_up_assignee_id": str(user.id)}
    _db.session.expunge_all()
    with count_queries() as counter:
        response = client.post(NEW, data=data)
    assert response.status_code == 302
    print(f"\nlog POST: {counter.count} statements")
    assert counter.count <= 18


# --- the API: ISO times, and long texts are a 422 with the field ------------------------

@pytest.fixture
def bearer(db):
    from crm.services.accounts import tokens

    def _make(user):
        _row, plain = tokens.create_token(user, "test")
        db.session.commit()
        return {"Authorization": f"Bearer {plain}"}

    return _make


@pytest.mark.parametrize("field", ["summary", "outcome"])
def test_api_refuses_30000_characters_with_a_field_error(client, db, make, bearer, field):
    user = make.make_user()
    partner = make.make_partner(owner=user)
    headers = bearer(user)
    body = {"partner_id": partner.id, "kind": "call", "summary": "Talked",
            "occurred_at": (timeutil.now_utc() - timedelta(hours=1)).isoformat(),
            field: "x" * 30_000}
    response = client.post("/api/v1/interactions", json=body, headers=headers)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert _count(db, Interaction) == 0

    interaction = make.make_interaction(partner, user)
    db.session.commit()
    response = client.patch(f"/api/v1/interactions/{interaction.id}",
                            json={field: "y" * 30_000}, headers=headers)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    db.session.expire_all()
    assert len(getattr(db.session.get(Interaction, interaction.id), field) or "") < 30_000


def test_api_keeps_iso_times(client, db, make, bearer):
    user = make.make_user()
    partner = make.make_partner(owner=user)
    response = client.post("/api/v1/interactions", headers=bearer(user), json={
        "partner_id": partner.id, "kind": "call", "summary": "Talked",
        "occurred_at": "yesterday 15:00"})
    assert response.status_code == 422
    assert "occurred_at" in response.get_json()["error"]["fields"]
    assert db.session.get(Partner, partner.id).last_interaction_at is None
