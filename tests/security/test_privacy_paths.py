"""Issue 12: sensitivity follows the data into follow-ups and derived values, and only those
who decide who sees a partner may widen access.

Expectations are written out here (docs/domain.md), not derived from crm.services.access.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from crm.lib import timeutil
from crm.models import AuditEvent, FollowUp, Partner
from crm.services import followups, interactions
from crm.services.accounts import tokens
from tests.support.http import csrf_token

pytestmark = pytest.mark.postgres

#: a date nobody would type: if it shows up, a hidden meeting leaked its date
HIDDEN_DAY = datetime(2023, 2, 17, 10, 0, tzinfo=UTC)
SEEN_DAY = datetime(2021, 6, 3, 10, 0, tzinfo=UTC)
HIDDEN_MARKS = ("2023-02-17", "17 Feb 2023", "Feb 17, 2023")


def _api(client, token, method, path, **kw):
    return client.open("/api/v1" + path, method=method,
                       headers={"Authorization": f"Bearer {token}"}, **kw)


def _token(db, user) -> str:
    _row, plain = tokens.create_token(user, "test")
    db.session.commit()
    return plain


@pytest.fixture
def world(db, make):
    owner = make.make_user(name="Olga Owner")
    people = {
        "owner": owner,
        "assignee": make.make_user(name="Asha Assignee"),
        "other_staff": make.make_user(name="Omar Other"),
        "viewer": make.make_user("viewer", name="Vera Viewer"),
        "admin": make.make_user("admin", name="Ada Admin"),
        "manager": make.make_user("manager", name="Max Manager", region_scope="Asia"),
    }
    partner = make.make_partner(owner, name="Open Partner", country="TH")
    make.make_follow_up(partner, owner, title="STANDARD-FU-TITLE",
                        due_at=timeutil.now_utc() - timedelta(days=2))
    make.make_follow_up(partner, owner, title="CONFIDENTIAL-FU-TITLE", sensitivity="confidential",
                        due_at=timeutil.now_utc() - timedelta(days=2))
    make.make_follow_up(partner, people["assignee"], title="ASSIGNED-CONF-TITLE",
                        sensitivity="confidential", due_at=timeutil.now_utc() + timedelta(days=1))
    db.session.commit()
    return {"partner": partner, **people}


FU_CAN_SEE = {
    # role → the titles it may read on the partner (assignee: by the assignee exception)
    "owner": {"STANDARD-FU-TITLE", "CONFIDENTIAL-FU-TITLE", "ASSIGNED-CONF-TITLE"},
    "admin": {"STANDARD-FU-TITLE", "CONFIDENTIAL-FU-TITLE", "ASSIGNED-CONF-TITLE"},
    "assignee": {"STANDARD-FU-TITLE", "ASSIGNED-CONF-TITLE"},
    "manager": {"STANDARD-FU-TITLE"},
    "other_staff": {"STANDARD-FU-TITLE"},
    "viewer": {"STANDARD-FU-TITLE"},
}
ALL_TITLES = {"STANDARD-FU-TITLE", "CONFIDENTIAL-FU-TITLE", "ASSIGNED-CONF-TITLE"}


@pytest.mark.parametrize("role", sorted(FU_CAN_SEE))
def test_follow_up_sensitivity_on_every_follow_up_path(client, db, login_as, world, role):
    user, partner = world[role], world["partner"]
    token = _token(db, user)
    login_as(user)
    pages = [client.get(f"/partners/{partner.id}").get_data(as_text=True),
             client.get(f"/partners/{partner.id}/timeline").get_data(as_text=True),
             client.get("/follow-ups/").get_data(as_text=True),
             client.get("/follow-ups/?scope=team").get_data(as_text=True),
             client.get("/follow-ups/reminders").get_data(as_text=True),
             _api(client, token, "GET", "/follow-ups?per_page=100").get_data(as_text=True)]
    seen = {title for title in ALL_TITLES if any(title in page for page in pages)}
    assert seen == FU_CAN_SEE[role]
    hidden = db.session.scalar(select(FollowUp.id).where(
        FollowUp.title == "CONFIDENTIAL-FU-TITLE"))
    # a follow-up one may not see answers 404 to every action, never 403
    expected = 302 if role in ("owner", "admin") else 404
    if role == "viewer":
        expected = 403  # read-only accounts are refused before any lookup
    status = client.post(f"/follow-ups/{hidden}/complete",
                         data={"csrf_token": csrf_token(client, "/follow-ups/")}).status_code
    assert status == expected


def test_assignee_demoted_to_viewer_loses_the_exception(client, db, login_as, world):
    assignee = world["assignee"]
    assignee.role = "viewer"
    db.session.commit()
    login_as(assignee)
    page = client.get(f"/partners/{world['partner'].id}").get_data(as_text=True)
    mine = client.get("/follow-ups/").get_data(as_text=True)
    reminders = client.get("/follow-ups/reminders").get_data(as_text=True)
    for body in (page, mine, reminders):
        assert "ASSIGNED-CONF-TITLE" not in body


def test_follow_up_is_never_less_sensitive_than_its_partner_and_interaction(db, make):
    owner = make.make_user()
    restricted = make.make_partner(owner, sensitivity="restricted")
    fu = followups.create_follow_up(owner, restricted, {
        "title": "t", "due_at": timeutil.now_utc() + timedelta(days=1),
        "sensitivity": "standard"})
    assert fu.sensitivity == "restricted"
    standard = make.make_partner(owner)
    meeting = interactions.log_interaction(owner, standard, {
        "kind": "call", "occurred_at": timeutil.now_utc() - timedelta(hours=1),
        "summary": "s", "sensitivity": "confidential"},
        follow_up={"title": "from a confidential call",
                   "due_at": timeutil.now_utc() + timedelta(days=1)})
    born = db.session.scalar(select(FollowUp).where(FollowUp.interaction_id == meeting.id))
    assert born.sensitivity == "confidential"
    # raising an interaction raises the follow-ups it produced
    call = interactions.log_interaction(owner, standard, {
        "kind": "call", "occurred_at": timeutil.now_utc() - timedelta(hours=2), "summary": "s"},
        follow_up={"title": "later raised", "due_at": timeutil.now_utc() + timedelta(days=1)})
    child = db.session.scalar(select(FollowUp).where(FollowUp.interaction_id == call.id))
    assert child.sensitivity == "standard"
    interactions.update_interaction(owner, call, {"sensitivity": "restricted"})
    db.session.refresh(child)
    assert child.sensitivity == "restricted"
    stricter = followups.create_follow_up(owner, standard, {
        "title": "t", "due_at": timeutil.now_utc() + timedelta(days=1),
        "sensitivity": "confidential"})
    assert stricter.sensitivity == "confidential"


def test_api_follow_up_sensitivity_field(client, db, make):
    owner = make.make_user()
    partner = make.make_partner(owner, sensitivity="restricted")
    token = _token(db, owner)
    due = (timeutil.now_utc() + timedelta(days=2)).isoformat()
    made = _api(client, token, "POST", "/follow-ups", json={
        "partner_id": partner.id, "title": "x", "due_at": due, "sensitivity": "standard"})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["sensitivity"] == "restricted"
    bad = _api(client, token, "POST", "/follow-ups", json={
        "partner_id": partner.id, "title": "x", "due_at": due, "sensitivity": "secret"})
    assert bad.status_code == 422
    assert "sensitivity" in bad.get_json()["error"]["fields"]


def test_web_follow_up_form_offers_a_stricter_level(client, db, make, login_as):
    owner = make.make_user()
    partner = make.make_partner(owner)
    login_as(owner)
    page = client.get(f"/follow-ups/new?partner_id={partner.id}").get_data(as_text=True)
    assert 'name="sensitivity"' in page
    response = client.post("/follow-ups/new", data={
        "csrf_token": csrf_token(client, "/follow-ups/new"), "partner_id": partner.id,
        "title": "Web confidential", "due": (timeutil.now_utc() + timedelta(days=3)).date(),
        "assignee_id": owner.id, "sensitivity": "confidential"})
    assert response.status_code == 302
    made = db.session.scalar(select(FollowUp).where(FollowUp.title == "Web confidential"))
    assert made.sensitivity == "confidential"


# --- derived values ------------------------------------------------------------------

@pytest.fixture
def quiet_world(db, make):
    """A standard partner whose only recent meeting is confidential (HIDDEN_DAY)."""
    owner = make.make_user(name="Quiet Owner")
    partner = make.make_partner(owner, name="Quiet Partner", country="TH",
                                sector="civil_society")
    make.make_interaction(partner, owner, occurred_at=SEEN_DAY, summary="old standard")
    make.make_interaction(partner, owner, occurred_at=HIDDEN_DAY, summary="secret",
                          sensitivity="confidential")
    viewer = make.make_user("viewer")
    staff = make.make_user()
    db.session.commit()
    return {"partner": partner, "owner": owner, "viewer": viewer, "staff": staff}


def _leaks(body: str) -> bool:
    return any(mark in body for mark in HIDDEN_MARKS)


@pytest.mark.parametrize("role", ["viewer", "staff"])
def test_last_interaction_counts_only_what_the_reader_may_see(client, db, login_as,
                                                              quiet_world, role):
    user, partner = quiet_world[role], quiet_world["partner"]
    token = _token(db, user)
    login_as(user)
    page = client.get(f"/partners/{partner.id}").get_data(as_text=True)
    listing = client.get("/partners/?sort=-last_interaction").get_data(as_text=True)
    export = client.get("/exports/partners.csv").get_data(as_text=True)
    api = _api(client, token, "GET", f"/partners/{partner.id}").get_json()
    report = client.get("/reports/silence.csv").get_data(as_text=True)
    for body in (page, listing, export, report):
        assert not _leaks(body)
    assert api["last_interaction_at"].startswith("2021-06-03")
    row = next(r for r in csv.DictReader(io.StringIO(export)) if r["name"] == "Quiet Partner")
    assert row["last_interaction_at"].startswith("2021-06-03")
    # the hidden meeting does not make the partner look engaged
    lapsed = client.get("/partners/?health=lapsed").get_data(as_text=True)
    assert "Quiet Partner" in lapsed
    assert "Quiet Partner" in report


def test_owner_sees_the_latest_of_everything(client, db, login_as, quiet_world):
    owner, partner = quiet_world["owner"], quiet_world["partner"]
    token = _token(db, owner)
    assert _api(client, token, "GET", f"/partners/{partner.id}").get_json()[
        "last_interaction_at"].startswith("2023-02-17")
    patched = _api(client, token, "PATCH", f"/partners/{partner.id}",
                   json={"description": "still the owner's view"}).get_json()
    assert patched["last_interaction_at"].startswith("2023-02-17")
    login_as(owner)
    assert "Quiet Partner" in client.get("/partners/?health=lapsed").get_data(as_text=True)


def test_last_levels_follow_edits(db, make):
    owner = make.make_user()
    partner = make.make_partner(owner)
    meeting = interactions.log_interaction(owner, partner, {
        "kind": "meeting", "occurred_at": HIDDEN_DAY, "summary": "s"})
    assert partner.last_standard_interaction_at == HIDDEN_DAY
    interactions.update_interaction(owner, meeting, {"sensitivity": "confidential"})
    db.session.expire(partner)
    assert partner.last_standard_interaction_at is None
    assert partner.last_confidential_interaction_at == HIDDEN_DAY
    assert partner.last_interaction_at == HIDDEN_DAY


# --- who may widen access ---------------------------------------------------------------

WIDEN = ("owner", "admin", "manager_in_region")
REFUSED = ("collaborator",)


@pytest.fixture
def circle(db, make):
    owner = make.make_user(name="Circle Owner")
    collaborator = make.make_user(name="Circle Collaborator")
    people = {
        "owner": owner, "collaborator": collaborator,
        "admin": make.make_user("admin"),
        "manager_in_region": make.make_user("manager", region_scope="Asia"),
        "newcomer": make.make_user(name="Newcomer"),
    }
    partner = make.make_partner(owner, name="Circle Partner", country="TH",
                                sensitivity="restricted", collaborators=[collaborator])
    db.session.commit()
    return {"partner": partner, **people}


CHANGES = {
    # the old owner stays as a collaborator, so nobody locks themselves out (a 422)
    "owner": lambda c: {"owner_id": c["newcomer"].id,
                        "collaborator_ids": [c["collaborator"].id, c["owner"].id]},
    "collaborators": lambda c: {"collaborator_ids": [c["collaborator"].id, c["newcomer"].id]},
    "lower": lambda c: {"sensitivity": "standard"},
}


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("role", WIDEN + REFUSED)
def test_widening_access_is_for_owner_admin_and_regional_manager(client, db, circle, role,
                                                                change):
    partner = circle["partner"]
    token = _token(db, circle[role])
    response = _api(client, token, "PATCH", f"/partners/{partner.id}",
                    json=CHANGES[change](circle))
    if role in WIDEN:
        assert response.status_code == 200, response.get_json()
    else:
        assert response.status_code == 403
        assert "owner" in response.get_json()["error"]["message"]
        db.session.expire_all()
        fresh = db.session.get(Partner, partner.id)
        assert fresh.owner_id == circle["owner"].id and fresh.sensitivity == "restricted"
        refusal = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "authz.forbidden", AuditEvent.actor_id == circle[role].id))
        assert refusal is not None


def test_collaborator_may_still_edit_and_raise(client, db, circle):
    partner = circle["partner"]
    token = _token(db, circle["collaborator"])
    response = _api(client, token, "PATCH", f"/partners/{partner.id}",
                    json={"description": "fine", "sensitivity": "confidential"})
    # raising to confidential would hide it from the collaborator: refused as a 422
    assert response.status_code == 422
    response = _api(client, token, "PATCH", f"/partners/{partner.id}",
                    json={"description": "fine"})
    assert response.status_code == 200


def test_web_edit_form_locks_access_fields_for_a_collaborator(client, db, circle, login_as):
    partner = circle["partner"]
    login_as(circle["collaborator"])
    page = client.get(f"/partners/{partner.id}/edit").get_data(as_text=True)
    assert 'id="access-locked"' in page
    assert '<option value="standard"' not in page.split('name="sensitivity"')[1].split(
        "</select>")[0]
    form = {"csrf_token": csrf_token(client, f"/partners/{partner.id}/edit"),
            "name": "Circle Partner", "sector": "civil_society", "country": "TH",
            "stage": "active", "sensitivity": "standard",
            "owner_id": str(circle["newcomer"].id), "description": "edited"}
    lowered = client.post(f"/partners/{partner.id}/edit", data=form)
    assert lowered.status_code == 422  # "Not a valid choice" beside the field
    form["sensitivity"] = "restricted"
    saved = client.post(f"/partners/{partner.id}/edit", data=form)
    assert saved.status_code == 302
    db.session.expire_all()
    fresh = db.session.get(Partner, partner.id)
    assert fresh.description == "edited" and fresh.owner_id == circle["owner"].id


# --- the audit trail ------------------------------------------------------------------

def test_audit_trail_refuses_truncate(db, make, app):
    from crm.services import audit

    audit.record("test.event", actor=make.make_user())
    db.session.commit()
    with db.engine.connect() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute(text("TRUNCATE audit_events"))
    with db.engine.connect() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute(text("DELETE FROM audit_events"))


@pytest.mark.parametrize("role", ["owner", "collaborator"])
def test_lowering_an_interaction_or_contact_is_widening_too(client, db, make, circle, role):
    partner = make.make_partner(circle["owner"], country="TH",
                                collaborators=[circle["collaborator"]])
    meeting = make.make_interaction(partner, circle["owner"], sensitivity="restricted")
    person = make.make_contact(partner, sensitivity="restricted")
    db.session.commit()
    token = _token(db, circle[role])
    lowered = _api(client, token, "PATCH", f"/interactions/{meeting.id}",
                   json={"sensitivity": "standard"})
    contact = _api(client, token, "PATCH", f"/contacts/{person.id}",
                   json={"sensitivity": "restricted", "notes": "keeping is fine"})
    assert contact.status_code == 200, contact.get_json()
    if role == "owner":
        assert lowered.status_code == 200, lowered.get_json()
    else:
        assert lowered.status_code == 403
        db.session.expire_all()
        assert db.session.get(type(meeting), meeting.id).sensitivity == "restricted"
        contact = _api(client, token, "PATCH", f"/contacts/{person.id}",
                       json={"sensitivity": "standard"})
        assert contact.status_code == 403


def test_partner_hidden_survives_a_refresh_without_a_cartesian_product(db, make):
    """`partner_hidden` is re-evaluated when an expired follow-up reloads (after a commit):
    it must stay right and must not join every partner."""
    import warnings

    from crm.services import access

    owner, outsider = make.make_user(), make.make_user()
    partner = make.make_partner(owner, sensitivity="restricted")
    make.make_partner(owner)  # a second partner: a cartesian product would duplicate rows
    fu = make.make_follow_up(partner, outsider, title="handed over")
    db.session.commit()
    ids = (fu.id, owner.id, outsider.id)
    for user_id, hidden in ((ids[1], False), (ids[2], True)):
        db.session.expunge_all()
        user = db.session.get(type(owner), user_id)
        loaded = access.get_visible(user, FollowUp, ids[0])
        assert loaded.partner_hidden is hidden
        db.session.commit()  # expires it: the next read refreshes with the same options
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert loaded.title == "handed over" and loaded.partner_hidden is hidden


def test_an_inactive_reader_gets_no_date_and_no_error(db, make):
    """Every level is closed to a deactivated user: the expression is NULL, not GREATEST()."""
    from crm.services import access

    owner = make.make_user()
    make.make_partner(owner, last_interaction_at=SEEN_DAY)
    owner.active = False
    db.session.flush()
    assert db.session.scalars(select(access.last_interaction_seen(owner)).select_from(
        Partner)).all() == [None]
