"""Services: logging interactions, last_interaction_at, follow-up changes and grouping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.lib import timeutil
from crm.models import AuditEvent, FollowUp, Interaction
from crm.services import access, audit, followups, interactions
from crm.services.errors import ConflictError, ValidationError


def _data(**kw):
    base = {"kind": "meeting", "occurred_at": timeutil.now_utc() - timedelta(hours=1),
            "summary": "Agreed a joint training", "outcome": "MoU draft by June"}
    base.update(kw)
    return base


def _audits(db, action):
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_log_interaction_sets_fields_people_and_audit(db, make):
    staff = make.make_user()
    colleague = make.make_user()
    partner = make.make_partner(owner=staff)
    contact = make.make_contact(partner)
    interaction = interactions.log_interaction(
        staff, partner, _data(contact_ids=[str(contact.id)], staff_ids=[colleague.id]))
    db.session.commit()
    assert interaction.logged_by_id == staff.id
    assert interaction.sensitivity == "standard"
    assert interactions.linked_ids(interaction) == ([contact.id], [colleague.id])
    assert partner.last_interaction_at == interaction.occurred_at
    [event] = _audits(db, "interaction.create")
    assert audit.readable_changes(event)["summary"] == [None, "Agreed a joint training"]
    assert audit.is_ref(event.changes["summary"][1]), "the audit row keeps a reference"
    assert event.changes["contact_ids"] == [None, [contact.id]]


def test_law_enforcement_defaults_to_restricted_and_never_laxer(db, make):
    staff = make.make_user()
    police = make.make_partner(owner=staff, sector="law_enforcement")
    assert interactions.log_interaction(staff, police, _data()).sensitivity == "restricted"
    secret = make.make_partner(owner=staff, sensitivity="restricted")
    with pytest.raises(ValidationError) as exc:
        interactions.log_interaction(staff, secret, _data(sensitivity="standard"))
    assert "sensitivity" in exc.value.fields
    stricter = interactions.log_interaction(staff, secret, _data(sensitivity="confidential"))
    assert stricter.sensitivity == "confidential"


def test_last_interaction_is_latest_occurred_not_latest_saved(db, make):
    staff = make.make_user()
    partner = make.make_partner(owner=staff)
    now = timeutil.now_utc()
    recent = interactions.log_interaction(staff, partner, _data(occurred_at=now - timedelta(days=1)))
    interactions.log_interaction(staff, partner, _data(occurred_at=now - timedelta(days=30)))
    db.session.commit()
    db.session.expire_all()
    assert partner.last_interaction_at == recent.occurred_at
    # moving the latest one back in time recomputes from all interactions
    interactions.update_interaction(staff, recent, {"occurred_at": now - timedelta(days=60)})
    db.session.commit()
    db.session.expire_all()
    assert partner.last_interaction_at == now - timedelta(days=30)
    # moving it forward again
    interactions.update_interaction(staff, recent, {"occurred_at": now - timedelta(hours=2)})
    db.session.commit()
    db.session.expire_all()
    assert partner.last_interaction_at == now - timedelta(hours=2)


@pytest.mark.parametrize(("when", "message"), [
    (datetime(2100, 1, 1, tzinfo=UTC), "future"),
    (datetime(1989, 12, 31, tzinfo=UTC), "1990"),
    (datetime(2020, 1, 1), "time zone"),
    ("yesterday", "when"),
])
def test_bad_dates_refused_nothing_saved(db, make, when, message):
    staff = make.make_user()
    partner = make.make_partner(owner=staff)
    with pytest.raises(ValidationError) as exc:
        interactions.log_interaction(staff, partner, _data(occurred_at=when))
    assert message in exc.value.fields["occurred_at"]
    db.session.rollback()
    assert db.session.scalar(select(Interaction.id)) is None
    assert partner.last_interaction_at is None


def test_every_bad_field_reported_at_once(db, make):
    staff = make.make_user()
    partner = make.make_partner(owner=staff)
    other = make.make_partner(owner=staff)
    foreign = make.make_contact(other)
    viewer = make.make_user(role="viewer")
    with pytest.raises(ValidationError) as exc:
        interactions.log_interaction(
            staff, partner,
            _data(kind="telepathy", summary="   ", outcome="x" * 20_001,
                  contact_ids=[foreign.id], staff_ids=[999999]),
            follow_up={"title": "", "due_at": None, "assignee_id": viewer.id})
    assert set(exc.value.fields) == {
        "kind", "summary", "outcome", "contact_ids", "staff_ids",
        "follow_up.title", "follow_up.due_at", "follow_up.assignee_id"}
    assert "who can see this partner" in exc.value.fields["follow_up.assignee_id"]


def test_invisible_contact_refused(db, make):
    staff = make.make_user()
    owner = make.make_user()
    partner = make.make_partner(owner=owner)
    hidden = make.make_contact(partner, sensitivity="confidential")
    with pytest.raises(ValidationError):
        interactions.log_interaction(staff, partner, _data(contact_ids=[hidden.id]))


def test_viewer_and_invisible_partner(db, make):
    viewer = make.make_user(role="viewer")
    staff = make.make_user()
    partner = make.make_partner()
    with pytest.raises(access.Forbidden):
        interactions.log_interaction(viewer, partner, _data())
    secret = make.make_partner(owner=make.make_user(), sensitivity="confidential")
    with pytest.raises(access.NotVisible):
        interactions.log_interaction(staff, secret, _data())


def test_follow_up_created_in_same_transaction(db, make):
    staff = make.make_user()
    partner = make.make_partner(owner=staff)
    due = timeutil.now_utc() + timedelta(days=3)
    interaction = interactions.log_interaction(
        staff, partner, _data(), follow_up={"title": "Send MoU", "due_at": due})
    fu = db.session.scalar(select(FollowUp))
    assert (fu.title, fu.assignee_id, fu.interaction_id) == ("Send MoU", staff.id, interaction.id)
    assert fu.due_at == due


def test_update_ignores_unknown_keys_and_audits(db, make):
    staff = make.make_user()
    partner = make.make_partner(owner=staff)
    interaction = interactions.log_interaction(staff, partner, _data())
    other = make.make_partner()
    interactions.update_interaction(staff, interaction, {
        "summary": "New summary", "partner_id": other.id, "logged_by_id": 42, "version": 99})
    assert interaction.partner_id == partner.id
    assert interaction.logged_by_id == staff.id
    assert interaction.version == 2
    [event] = _audits(db, "interaction.update")
    assert audit.readable_changes(event) == {"summary": ["Agreed a joint training",
                                                         "New summary"]}
    with pytest.raises(ConflictError):
        interactions.update_interaction(staff, interaction, {"summary": "x"}, expected_version=1)


def test_follow_up_lifecycle_audited(db, make):
    staff = make.make_user()
    colleague = make.make_user()
    partner = make.make_partner(owner=staff)
    fu = followups.create_follow_up(staff, partner, {
        "title": "Call back", "due_at": timeutil.now_utc() + timedelta(days=1)})
    until = timeutil.now_utc() + timedelta(days=7)
    followups.snooze(staff, fu, until)
    assert fu.snoozed_until == until and fu.due_at == until
    followups.reassign(staff, fu, colleague.id)
    assert fu.assignee_id == colleague.id
    followups.complete(staff, fu)
    assert fu.status == "done" and fu.completed_at is not None
    assert fu.version == 4
    followups.complete(staff, fu)  # a double click changes nothing
    assert fu.version == 4
    with pytest.raises(ConflictError):
        followups.cancel(staff, fu)
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["follow_up.create", "follow_up.snooze", "follow_up.reassign",
                       "follow_up.complete"]


def test_reassign_to_user_who_cannot_see_partner_refused(db, make):
    owner = make.make_user()
    outsider = make.make_user()
    partner = make.make_partner(owner=owner, sensitivity="restricted")
    fu = make.make_follow_up(partner, owner)
    with pytest.raises(ValidationError) as exc:
        followups.reassign(owner, fu, outsider.id)
    assert "who can see this partner" in exc.value.fields["assignee_id"]


def test_snooze_into_past_refused(db, make):
    staff = make.make_user()
    fu = make.make_follow_up(make.make_partner(owner=staff), staff)
    with pytest.raises(ValidationError):
        followups.snooze(staff, fu, timeutil.now_utc() - timedelta(minutes=1))


def test_my_follow_ups_grouped_in_user_zone(db, make):
    # Monday 2026-03-02 20:00 UTC is Tuesday 09:00 in Auckland (UTC+13)
    user = make.make_user(timezone="Pacific/Auckland")
    partner = make.make_partner(owner=user)
    now = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    due = {
        "overdue": datetime(2026, 3, 2, 10, 59, tzinfo=UTC),  # Mon 23:59 local
        "today": datetime(2026, 3, 2, 11, 0, tzinfo=UTC),  # Tue 00:00 local, already past
        "today ": datetime(2026, 3, 3, 10, 30, tzinfo=UTC),  # Tue 23:30 local
        "this_week": datetime(2026, 3, 8, 10, 0, tzinfo=UTC),  # Sun 23:00 local
        "later": datetime(2026, 3, 8, 11, 30, tzinfo=UTC),  # Mon 00:30 local
    }
    for name, when in due.items():
        make.make_follow_up(partner, user, title=name, due_at=when)
    make.make_follow_up(partner, user, title="closed", due_at=now, status="done")
    make.make_follow_up(partner, make.make_user(), title="someone else's", due_at=now)
    groups = followups.my_follow_ups(user, now)
    assert {k: [f.title.strip() for f in v] for k, v in groups.items()} == {
        "overdue": ["overdue"], "today": ["today", "today"], "this_week": ["this_week"],
        "later": ["later"]}


def test_team_overdue_is_for_managers_in_their_region(db, make):
    staff = make.make_user()
    manager = make.make_user(role="manager", region_scope="Asia")
    asia = make.make_partner(owner=staff, country="TH")
    europe = make.make_partner(owner=staff, country="FR")
    past = timeutil.now_utc() - timedelta(days=2)
    make.make_follow_up(asia, staff, due_at=past, title="asia")
    make.make_follow_up(europe, staff, due_at=past, title="europe")
    items, total = followups.team_overdue(manager)
    assert [f.title for f in items] == ["asia"] and total == 1
    with pytest.raises(access.Forbidden):
        followups.team_overdue(staff)


def test_cannot_hide_an_interaction_from_its_author(db, make):
    owner = make.make_user()
    collaborator = make.make_user()
    partner = make.make_partner(owner=owner, sensitivity="restricted",
                                collaborators=[collaborator])
    with pytest.raises(ValidationError) as exc:
        interactions.log_interaction(collaborator, partner, _data(sensitivity="confidential"))
    assert "no longer see" in exc.value.fields["sensitivity"]
    assert interactions.log_interaction(owner, partner, _data(sensitivity="confidential"))


def test_sensitivity_change_audited_on_its_own(db, make):
    staff = make.make_user()
    partner = make.make_partner(owner=staff)
    interaction = interactions.log_interaction(staff, partner, _data())
    interactions.update_interaction(staff, interaction, {"sensitivity": "restricted"})
    [event] = _audits(db, "interaction.sensitivity")
    assert event.changes == {"sensitivity": ["standard", "restricted"]}


def test_edit_keeps_people_the_editor_cannot_see_or_who_left(db, make):
    owner = make.make_user()
    collaborator = make.make_user()
    leaver = make.make_user()
    partner = make.make_partner(owner=owner, sensitivity="restricted",
                                collaborators=[collaborator])
    secret = make.make_contact(partner, sensitivity="confidential")
    public = make.make_contact(partner)
    interaction = interactions.log_interaction(owner, partner, _data(
        contact_ids=[secret.id, public.id], staff_ids=[leaver.id]))
    leaver.active = False
    db.session.flush()
    # the collaborator sees only `public`; the form sends what they can see
    interactions.update_interaction(collaborator, interaction, {
        "contact_ids": [public.id], "staff_ids": [leaver.id], "summary": "Edited"})
    assert interactions.linked_ids(interaction) == (sorted([secret.id, public.id]),
                                                    [leaver.id])
    # removing the visible one still keeps the hidden one
    interactions.update_interaction(collaborator, interaction, {"contact_ids": []})
    assert interactions.linked_ids(interaction)[0] == [secret.id]
    # but a deactivated user cannot be newly added
    other_leaver = make.make_user(active=False)
    with pytest.raises(ValidationError):
        interactions.update_interaction(collaborator, interaction,
                                        {"staff_ids": [leaver.id, other_leaver.id]})
