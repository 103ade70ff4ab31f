"""Pages: log an interaction, edit it, My follow-ups and its actions, with real forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm.lib import timeutil
from crm.models import AuditEvent, FollowUp, Interaction, Partner
from tests.support import html
from tests.support.http import csrf_token, post_form

NEW = "/interactions/new"


def _local(moment: datetime, tz: str) -> str:
    return timeutil.to_local(moment, tz).strftime("%Y-%m-%dT%H:%M")


def _form(partner, **kw):
    data = {"partner_id": str(partner.id), "kind": "call",
            "occurred_at": "2026-01-15T10:30", "summary": "Talked about the hotline",
            "outcome": "", "sensitivity": ""}
    data.update(kw)
    return data


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_form_defaults_to_now_in_user_zone_and_partner(client, db, make, login_as):
    user = make.make_user(timezone="Asia/Bangkok")
    partner = make.make_partner(owner=user, sector="law_enforcement", name="Royal Thai Police")
    make.make_contact(partner, name="Col. Somchai")
    login_as(user)
    body = client.get(f"{NEW}?partner_id={partner.id}").get_data(as_text=True)
    assert "Royal Thai Police" in body and "Col. Somchai" in body
    assert "Restricted (default for this partner)" in body  # law enforcement → restricted
    assert 'value="standard" disabled' not in body  # standard partner: standard allowed
    assert "data-ctrl-enter-submit" in body
    assert 'value="now"' in body  # the When phrase, read in the user's zone on submit


def test_log_interaction_interprets_local_time_and_redirects(client, db, make, login_as):
    user = make.make_user(timezone="America/New_York")
    partner = make.make_partner(owner=user)
    contact = make.make_contact(partner)
    login_as(user)
    response = post_form(client, NEW, _form(partner, contact_ids=str(contact.id),
                                            follow_up_title="Send the MoU",
                                            follow_up_due="2026-01-20",
                                            follow_up_assignee_id=str(user.id)),
                         token_from=NEW)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    interaction = db.session.scalar(select(Interaction))
    assert interaction.occurred_at == datetime(2026, 1, 15, 15, 30, tzinfo=UTC)
    assert interaction.kind == "call"
    fu = db.session.scalar(select(FollowUp))
    assert fu.interaction_id == interaction.id
    assert fu.due_at == datetime(2026, 1, 20, 14, 0, tzinfo=UTC)  # 09:00 New York
    db.session.expire_all()
    assert db.session.get(Partner, partner.id).last_interaction_at == interaction.occurred_at
    follow = client.get(response.headers["Location"])
    assert "saved" in follow.get_data(as_text=True)


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"occurred_at": "2100-01-01T10:00"}, "occurred_at", "future"),
    ({"occurred_at": "1989-12-31T10:00"}, "occurred_at", "1990"),
    ({"occurred_at": "not a date"}, "occurred_at", "Not a valid"),
    ({"summary": "   "}, "summary", "summary"),
    ({"summary": "x" * 20_001}, "summary", "under 20,000 characters"),
    ({"kind": "telepathy"}, "kind", "Not a valid choice"),
    ({"sensitivity": "public"}, "sensitivity", "Not a valid choice"),
    ({"follow_up_title": "Call back", "follow_up_due": ""}, "follow_up_due",
     "Enter a date and time"),
])
def test_bad_input_shows_field_error_saves_nothing(client, db, make, login_as, changes,
                                                   field, message):
    user = make.make_user()
    partner = make.make_partner(owner=user)
    login_as(user)
    response = post_form(client, NEW, _form(partner, **changes), token_from=NEW)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    problem = html.field_error(html.parse(body), field, message)
    assert problem is None, problem
    assert _count(db, Interaction) == 0 and _count(db, FollowUp) == 0


def test_contact_of_another_partner_refused(client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(owner=user)
    other = make.make_partner(owner=user)
    foreign = make.make_contact(other)
    login_as(user)
    response = post_form(client, NEW, _form(partner, contact_ids=str(foreign.id)),
                         token_from=NEW)
    assert response.status_code == 422
    assert "not a valid choice" in response.get_data(as_text=True)
    assert _count(db, Interaction) == 0


def test_invisible_partner_is_404_and_nothing_saved(client, db, make, login_as):
    user = make.make_user()
    secret = make.make_partner(owner=make.make_user(), sensitivity="confidential")
    login_as(user)
    assert client.get(f"{NEW}?partner_id={secret.id}").status_code == 404
    response = post_form(client, NEW, _form(secret), token_from=NEW)
    assert response.status_code == 404
    assert _count(db, Interaction) == 0


def test_viewer_as_assignee_refused(client, db, make, login_as):
    user = make.make_user()
    viewer = make.make_user(role="viewer")
    partner = make.make_partner(owner=user)
    login_as(user)
    response = post_form(client, NEW, _form(partner, follow_up_title="x",
                                            follow_up_due="2026-02-01",
                                            follow_up_assignee_id=str(viewer.id)),
                         token_from=NEW)
    assert response.status_code == 422
    assert "who can see this partner" in response.get_data(as_text=True)
    assert _count(db, Interaction) == 0 and _count(db, FollowUp) == 0


def test_script_is_escaped(client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(owner=user)
    login_as(user)
    post_form(client, NEW, _form(partner, follow_up_title="<script>alert(1)</script>",
                                 follow_up_due="2026-01-16"), token_from=NEW)
    body = client.get("/follow-ups/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_huge_request_is_refused_cleanly(client, db, make, login_as, app):
    user = make.make_user()
    partner = make.make_partner(owner=user)
    login_as(user)
    huge = "y" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    response = post_form(client, NEW, _form(partner, summary=huge), token_from=NEW)
    assert response.status_code == 413
    assert _count(db, Interaction) == 0


def test_mass_assignment_ignored(client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(owner=user)
    other = make.make_user()
    login_as(user)
    response = post_form(client, NEW, _form(partner, logged_by_id=str(other.id), version="7",
                                            id="999", created_at="2000-01-01"),
                         token_from=NEW)
    assert response.status_code == 302
    interaction = db.session.scalar(select(Interaction))
    assert (interaction.logged_by_id, interaction.version) == (user.id, 1)
    assert interaction.id != 999


def test_edit_moves_date_and_recomputes_last_interaction(client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(owner=user)
    now = timeutil.now_utc().replace(second=0, microsecond=0)
    old = make.make_interaction(partner, user, occurred_at=now - timedelta(days=10))
    latest = make.make_interaction(partner, user, occurred_at=now - timedelta(days=1))
    login_as(user)
    path = f"/interactions/{latest.id}/edit"
    page = client.get(path).get_data(as_text=True)
    shown = timeutil.to_local(latest.occurred_at, "UTC").strftime("%Y-%m-%d %H:%M")
    assert f'value="{shown}"' in page
    response = post_form(client, path, {
        "kind": "meeting", "occurred_at": _local(now - timedelta(days=20), "UTC"),
        "summary": "Moved back", "sensitivity": "standard", "version": "1"}, token_from=path)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Partner, partner.id).last_interaction_at == old.occurred_at
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "interaction.update"))
    assert set(event.changes) == {"occurred_at", "summary"}
    # a stale version is a conflict, not a silent overwrite
    stale = post_form(client, path, {
        "kind": "meeting", "occurred_at": _local(now, "UTC"), "summary": "Stale",
        "sensitivity": "standard", "version": "1"}, token_from=path)
    assert stale.status_code == 409
    db.session.expire_all()
    assert db.session.get(Interaction, latest.id).summary == "Moved back"


def test_my_follow_ups_groups_and_actions(client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(owner=user, name="UNICEF Thailand")
    now = timeutil.now_utc()
    overdue = make.make_follow_up(partner, user, title="Overdue thing",
                                  due_at=now - timedelta(days=3))
    later = make.make_follow_up(partner, user, title="Later thing",
                                due_at=now + timedelta(days=30))
    login_as(user)
    body = client.get("/follow-ups/").get_data(as_text=True)
    assert body.index("Overdue thing") < body.index("Later thing")
    assert "UNICEF Thailand" in body
    token = csrf_token(client, "/follow-ups/")
    # htmx complete: the row comes back, marked done
    response = client.post(f"/follow-ups/{overdue.id}/complete",
                           data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Done" in response.get_data(as_text=True)
    # plain snooze one week: redirect, due moved to 09:00 UTC a week from today
    response = client.post(f"/follow-ups/{later.id}/snooze",
                           data={"csrf_token": token, "days": "7"})
    assert response.status_code == 302
    db.session.expire_all()
    later = db.session.get(FollowUp, later.id)
    assert later.due_at.hour == 9 and later.snoozed_until == later.due_at
    # pick a date in the past: refused with a message, nothing changes
    response = client.post(f"/follow-ups/{later.id}/snooze",
                           data={"csrf_token": token, "date": "2020-01-01"},
                           headers={"HX-Request": "true"})
    assert "future" in response.get_data(as_text=True)
    response = client.post(f"/follow-ups/{later.id}/cancel", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(FollowUp, later.id).status == "cancelled"
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"follow_up.complete", "follow_up.snooze", "follow_up.cancel"} <= actions


def test_action_without_csrf_refused(client, db, make, login_as):
    user = make.make_user()
    fu = make.make_follow_up(make.make_partner(owner=user), user)
    login_as(user)
    assert client.post(f"/follow-ups/{fu.id}/complete").status_code == 400
    db.session.expire_all()
    assert db.session.get(FollowUp, fu.id).status == "open"


def test_reassign_page(client, db, make, login_as):
    user = make.make_user()
    colleague = make.make_user(name="Colleague Carla")
    viewer = make.make_user(role="viewer")
    fu = make.make_follow_up(make.make_partner(owner=user), user)
    login_as(user)
    path = f"/follow-ups/{fu.id}/reassign"
    assert "Colleague Carla" in client.get(path).get_data(as_text=True)
    bad = post_form(client, path, {"assignee_id": str(viewer.id)}, token_from=path)
    assert bad.status_code == 422 and "who can see this partner" in bad.get_data(as_text=True)
    ok = post_form(client, path, {"assignee_id": str(colleague.id)}, token_from=path)
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(FollowUp, fu.id).assignee_id == colleague.id


def test_add_follow_up_page(client, db, make, login_as):
    user = make.make_user(timezone="Europe/Paris")
    partner = make.make_partner(owner=user)
    login_as(user)
    path = f"/follow-ups/new?partner_id={partner.id}"
    assert partner.name in client.get(path).get_data(as_text=True)
    response = post_form(client, "/follow-ups/new", {
        "partner_id": str(partner.id), "title": "Draft the letter", "due": "2026-06-01",
        "assignee_id": str(user.id)}, token_from=path)
    assert response.status_code == 302
    fu = db.session.scalar(select(FollowUp))
    assert fu.due_at == datetime(2026, 6, 1, 7, 0, tzinfo=UTC)  # 09:00 Paris summer time
    empty = post_form(client, "/follow-ups/new", {"partner_id": str(partner.id)},
                      token_from=path)
    assert empty.status_code == 422 and "Say what needs doing" in empty.get_data(as_text=True)


def test_viewer_sees_no_write_buttons(client, db, make, login_as):
    viewer = make.make_user(role="viewer")
    login_as(viewer)
    body = client.get("/follow-ups/").get_data(as_text=True)
    assert "Add follow-up" not in body and "log-interaction-btn" not in body
    assert client.get(NEW).status_code == 403


def test_opening_a_restricted_interaction_is_audited(client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(owner=user, sensitivity="restricted")
    interaction = make.make_interaction(partner, user, sensitivity="restricted")
    plain = make.make_interaction(make.make_partner(owner=user), user)
    login_as(user)
    assert client.get(f"/interactions/{interaction.id}/edit").status_code == 200
    assert client.get(f"/interactions/{plain.id}/edit").status_code == 200
    viewed = db.session.scalars(select(AuditEvent.object_id).where(
        AuditEvent.action == "interaction.view")).all()
    assert viewed == [str(interaction.id)]


def test_edit_form_keeps_archived_contact_and_author_as_staff(client, db, make, login_as):
    author = make.make_user()
    editor = make.make_user()
    partner = make.make_partner(owner=author)
    gone = make.make_contact(partner, name="Archived Anna", archived=True)
    interaction = make.make_interaction(partner, author)
    from crm.models import interaction_contacts, interaction_staff

    db.session.execute(interaction_contacts.insert().values(interaction_id=interaction.id,
                                                            contact_id=gone.id))
    db.session.execute(interaction_staff.insert().values(interaction_id=interaction.id,
                                                         user_id=editor.id))
    login_as(editor)
    path = f"/interactions/{interaction.id}/edit"
    page = client.get(path).get_data(as_text=True)
    assert "Archived Anna" in page
    response = post_form(client, path, {
        "kind": "meeting", "occurred_at": "2026-01-05T10:00", "summary": "Still there",
        "sensitivity": "standard", "version": "1", "contact_ids": str(gone.id),
        "staff_ids": str(editor.id)}, token_from=path)
    assert response.status_code == 302
    from crm.services import interactions as service

    db.session.expire_all()
    assert service.linked_ids(db.session.get(Interaction, interaction.id)) == (
        [gone.id], [editor.id])
