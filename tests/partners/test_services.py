"""Services: partners, contacts, engagement health, timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from crm.lib import timeutil
from crm.models import (
    AuditEvent,
    Contact,
    FollowUp,
    Partner,
    StageChange,
    interaction_contacts,
    interaction_staff,
)
from crm.services import access, contacts, engagement, partners, timeline
from crm.services.errors import ValidationError


def _data(**kw):
    data = {"name": "Fundación Renacer", "sector": "civil_society", "country": "co",
            "stage": "dialogue", "sensitivity": "standard", "website": "renacer.org",
            "email": "Info@Renacer.org", "description": "", "is_member": True,
            "tags": "Training, osec ,training", "collaborator_ids": []}
    data.update(kw)
    return data


def test_create_partner_derives_region_key_tags_and_audits(db, make):
    actor = make.make_user()
    partner = partners.create_partner(actor, _data())
    assert partner.country == "CO"
    assert partner.region == "Americas"
    assert partner.name_key == "fundacion renacer"
    assert partner.website == "https://renacer.org"
    assert partner.email.lower() == "info@renacer.org"
    assert partner.tag_names == ["osec", "training"]
    assert partner.owner_id == actor.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "partner.create"))
    assert event.changes["name"] == [None, "Fundación Renacer"]
    assert db.session.scalar(select(func.count()).select_from(StageChange)) == 1


@pytest.mark.parametrize(("field", "value"), [
    ("name", ""), ("name", "x" * 300), ("name", "   "), ("sector", "pirates"),
    ("country", "XX"), ("country", ""), ("stage", "won"), ("sensitivity", "secret"),
    ("website", "javascript:alert(1)"), ("website", "ftp://x.org"), ("email", "not-an-email"),
    ("owner_id", "abc"), ("owner_id", 999999), ("collaborator_ids", [999999]),
    ("tags", ["x" * 60]),
])
def test_create_partner_rejects_bad_input_and_saves_nothing(db, make, field, value):
    actor = make.make_user()
    with pytest.raises(ValidationError) as info:
        partners.create_partner(actor, _data(**{field: value}))
    assert field in info.value.fields
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Partner)) == 0


def test_viewer_cannot_create(db, make):
    with pytest.raises(access.Forbidden):
        partners.create_partner(make.make_user("viewer"), _data())


def test_viewer_cannot_be_owner(db, make):
    viewer = make.make_user("viewer")
    with pytest.raises(ValidationError) as info:
        partners.create_partner(make.make_user(), _data(owner_id=viewer.id))
    assert "owner_id" in info.value.fields


def test_staff_cannot_make_a_partner_they_could_not_see(db, make):
    actor, other = make.make_user(), make.make_user()
    with pytest.raises(ValidationError) as info:
        partners.create_partner(actor, _data(owner_id=other.id, sensitivity="confidential"))
    assert "sensitivity" in info.value.fields
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Partner)) == 0


def test_update_records_stage_change_version_and_sensitivity_audit(db, make):
    actor = make.make_user()
    partner = partners.create_partner(actor, _data())
    db.session.commit()
    version = partner.version
    partners.update_partner(actor, partner, {"stage": "agreement", "sensitivity": "restricted",
                                             "tags": ["mou"], "role": "admin"})
    assert partner.version == version + 1
    changes = db.session.scalars(select(StageChange).order_by(StageChange.id)).all()
    assert [(c.from_stage, c.to_stage) for c in changes][-1] == ("dialogue", "agreement")
    update = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "partner.update"))
    assert update.changes["sensitivity"] == ["standard", "restricted"]
    assert update.changes["tags"] == [["osec", "training"], ["mou"]]
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "partner.sensitivity")) is not None
    # nothing changed → version stays
    partners.update_partner(actor, partner, {"stage": "agreement"})
    assert partner.version == version + 1


def test_archive_and_unarchive(db, make):
    actor = make.make_user()
    partner = make.make_partner(actor)
    partners.archive_partner(actor, partner)
    assert partner.archived
    q = partners.partner_query(actor, {})
    assert partner not in db.session.scalars(q).all()
    assert partner in db.session.scalars(partners.partner_query(actor, {"archived": "1"})).all()
    partners.unarchive_partner(actor, partner)
    assert not partner.archived
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "partner.archive" in actions and "partner.unarchive" in actions


def test_find_duplicates_is_case_and_accent_insensitive(db, make):
    existing = make.make_partner(name="Fundación  Renacer", country="CO")
    make.make_partner(name="Fundacion Renacer", country="PE")
    found = partners.find_duplicates("FUNDACION renacer", "co")
    assert found == [existing]
    assert partners.find_duplicates("fundacion renacer", "CO", exclude_id=existing.id) == []


def test_find_duplicates_hides_what_the_user_cannot_see(db, make):
    owner, other = make.make_user(), make.make_user()
    make.make_partner(owner, name="Secret Unit", country="TH", sensitivity="confidential")
    assert partners.find_duplicates("secret unit", "TH", user=other) == []
    assert len(partners.find_duplicates("secret unit", "TH", user=owner)) == 1


def test_partner_query_filters(db, make):
    user = make.make_user()
    now = timeutil.now_utc()
    a = make.make_partner(user, name="Ämber Police", sector="law_enforcement", country="DE",
                          tags=["osec"], is_member=True, last_interaction_at=now)
    b = make.make_partner(name="Zeta Hotels", sector="travel_tourism", country="TH",
                          stage="prospect", last_interaction_at=now - timedelta(days=70))
    c = make.make_partner(name="Beta 100% Trust", sector="funder", country="KE")

    def names(**f):
        return [p.name for p in db.session.scalars(partners.partner_query(user, f))]

    assert names(q="amber") == ["Ämber Police"]
    assert names(q="100%") == ["Beta 100% Trust"]
    assert names(q="%") == ["Beta 100% Trust"]
    assert names(q="a_b") == []
    assert names(sector="travel_tourism") == ["Zeta Hotels"]
    assert names(region="Europe") == ["Ämber Police"]
    assert names(country="ke") == ["Beta 100% Trust"]
    assert names(stage="prospect") == ["Zeta Hotels"]
    assert names(owner_id=str(user.id)) == ["Ämber Police"]
    assert names(tag="OSEC") == ["Ämber Police"]
    assert names(member="1") == ["Ämber Police"]
    assert names(member="0") == ["Zeta Hotels", "Beta 100% Trust"][::-1]
    assert names(health="engaged") == ["Ämber Police"]
    assert names(health="cooling") == ["Zeta Hotels"]
    assert names(health="new") == ["Beta 100% Trust"]  # added just now, no interaction yet
    assert names(health="lapsed") == []
    assert names(sort="-name") == ["Zeta Hotels", "Beta 100% Trust", "Ämber Police"]
    assert names(sort="-last_interaction")[:2] == ["Ämber Police", "Zeta Hotels"]
    assert names(sort="stage")[0] == "Zeta Hotels"
    assert {a.id, b.id, c.id}


def test_partner_query_invalid_values_raise_and_clean_filters_reports(db, make):
    user = make.make_user()
    with pytest.raises(ValidationError) as info:
        partners.partner_query(user, {"sector": "pirates", "sort": "id; drop"})
    assert set(info.value.fields) == {"sector", "sort"}
    valid, errors = partners.clean_filters({"sector": "media", "health": "zombie", "q": " "})
    assert valid == {"sector": "media"}
    assert "health" in errors


def test_partner_query_respects_visibility(db, make):
    owner, other, viewer = make.make_user(), make.make_user(), make.make_user("viewer")
    make.make_partner(owner, name="Restricted", sensitivity="restricted")
    make.make_partner(owner, name="Open")
    for user, expected in ((owner, ["Open", "Restricted"]), (other, ["Open"]),
                           (viewer, ["Open"])):
        assert [p.name for p in db.session.scalars(partners.partner_query(user, {}))] == expected


@pytest.mark.parametrize(("sector", "days", "created", "expected"), [
    ("civil_society", 59, 400, "engaged"), ("civil_society", 61, 400, "cooling"),
    ("civil_society", 121, 400, "lapsed"), ("law_enforcement", 89, 400, "engaged"),
    ("law_enforcement", 91, 400, "cooling"), ("government", 179, 400, "cooling"),
    ("government", 181, 400, "lapsed"),
    # no interaction: counted from the day the partner was added
    ("media", None, 0, "new"), ("media", None, 59, "new"), ("media", None, 61, "cooling"),
    ("media", None, 121, "lapsed"), ("law_enforcement", None, 89, "new"),
    ("law_enforcement", None, 91, "cooling"), ("law_enforcement", None, 181, "lapsed"),
    # an interaction older than the record (an import with history) still counts
    ("media", 200, 1, "lapsed"),
])
def test_health_thresholds_match_sql_clause(db, make, sector, days, created, expected):
    now = timeutil.now_utc()
    last = None if days is None else now - timedelta(days=days)
    admin = make.make_user("admin")
    partner = make.make_partner(sector=sector, last_interaction_at=last,
                                created_at=now - timedelta(days=created, seconds=1))
    # loaded as a reader would: `last_interaction_seen` is the reader's last interaction
    partner = db.session.scalars(access.visible_partners(admin).where(
        Partner.id == partner.id).execution_options(populate_existing=True)).one()
    assert engagement.health_of(partner, now) == expected
    for state in engagement.HEALTH_STATES:
        hit = db.session.scalar(select(Partner.id).where(
            Partner.id == partner.id, engagement.health_clause(state, now)))
        assert (hit is not None) == (state == expected), state


def test_health_thresholds_from_config(db, make):
    thresholds = engagement.Thresholds.from_config(
        {"HEALTH_THRESHOLDS": {"media": (5, 10)}, "HEALTH_DEFAULT_THRESHOLDS": (1, 2)})
    now = timeutil.now_utc()
    make.make_partner(sector="media", last_interaction_at=now - timedelta(days=7))
    partner = db.session.scalars(access.visible_partners(make.make_user("viewer")).execution_options(
        populate_existing=True)).one()
    assert engagement.health_of(partner, now, thresholds) == "cooling"
    assert engagement.health_of(partner, now) == "engaged"
    with pytest.raises(ValidationError):
        engagement.health_clause("zombie")


def test_contact_rules(db, make):
    actor = make.make_user()
    partner = make.make_partner(actor, sensitivity="restricted")
    contact = contacts.create_contact(actor, partner, {"name": "Ana", "email": "Ana@X.org",
                                                       "language": "es", "phone": "+57 1 234"})
    assert contact.sensitivity == "restricted"
    with pytest.raises(ValidationError) as info:
        contacts.create_contact(actor, partner, {"name": "Ana 2", "email": "ana@x.ORG"})
    assert "already has this email" in info.value.fields["email"]
    with pytest.raises(ValidationError) as info:
        contacts.update_contact(actor, contact, {"sensitivity": "standard"})
    assert "sensitivity" in info.value.fields
    contacts.update_contact(actor, contact, {"sensitivity": "confidential", "title": "Dir"})
    assert contact.version == 2
    db.session.commit()
    for bad in ({"name": ""}, {"email": "nope"}, {"language": "zz"}, {"phone": "call me"},
                {"name": "x" * 300}):
        with pytest.raises(ValidationError) as info:
            contacts.create_contact(actor, partner, {"name": "Ok", **bad})
        assert set(info.value.fields) == set(bad)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 1


def test_timeline_merges_newest_first_and_paginates(db, make):
    user = make.make_user()
    partner = make.make_partner(user)
    now = timeutil.now_utc()
    for days in range(5):
        make.make_interaction(partner, user, occurred_at=now - timedelta(days=days, hours=1))
    make.make_interaction(partner, user, occurred_at=now - timedelta(hours=2),
                          sensitivity="confidential")
    fu = make.make_follow_up(partner, user, created_at=now - timedelta(days=2, hours=12))
    fu.status, fu.completed_at = "done", now - timedelta(minutes=5)
    db.session.add(StageChange(partner_id=partner.id, from_stage="prospect",
                               to_stage="active", changed_at=now - timedelta(days=3, hours=12)))
    db.session.flush()
    other = make.make_user()
    page = timeline.partner_timeline(other, partner, limit=4)
    kinds = [e.kind for e in page.entries]
    assert kinds == ["follow_up_done", "interaction", "interaction", "interaction"]
    ats = [e.at for e in page.entries]
    assert ats == sorted(ats, reverse=True)
    rest = timeline.partner_timeline(other, partner, before=page.next_cursor, limit=50)
    assert [e.kind for e in rest.entries].count("interaction") == 2
    assert "stage_change" in [e.kind for e in rest.entries]
    assert "follow_up_created" in [e.kind for e in rest.entries]
    assert rest.next_cursor is None
    # the owner also sees the confidential interaction; "other" never does
    assert len(timeline.partner_timeline(user, partner, limit=50).entries) == 9
    assert len(page.entries) + len(rest.entries) == 8
    with pytest.raises(ValidationError):
        timeline.partner_timeline(user, partner, before="garbage")


def test_timeline_cursor_ties(db, make):
    user = make.make_user()
    partner = make.make_partner(user)
    when = timeutil.now_utc() - timedelta(days=1)
    ids = [make.make_interaction(partner, user, occurred_at=when).id for _ in range(5)]
    seen, cursor = [], None
    while True:
        page = timeline.partner_timeline(user, partner, before=cursor, limit=2)
        seen += [e.obj.id for e in page.entries]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == sorted(ids, reverse=True)
    assert db.session.scalar(select(func.count()).select_from(FollowUp)) == 0


def test_timeline_hides_contacts_the_user_cannot_see_and_lists_staff(db, make):
    owner, other, colleague = make.make_user(), make.make_user(), make.make_user(name="Colleague")
    partner = make.make_partner(owner)
    open_contact = make.make_contact(partner, name="Open Person")
    secret = make.make_contact(partner, name="Secret Person", sensitivity="confidential")
    interaction = make.make_interaction(partner, owner)
    db.session.execute(insert(interaction_contacts), [
        {"interaction_id": interaction.id, "contact_id": c.id} for c in (open_contact, secret)])
    db.session.execute(insert(interaction_staff), [
        {"interaction_id": interaction.id, "user_id": colleague.id}])
    (entry,) = timeline.partner_timeline(other, partner).entries
    assert [c.name for c in entry.contacts] == ["Open Person"]
    assert [u.name for u in entry.staff] == ["Colleague"]
    (entry,) = timeline.partner_timeline(owner, partner).entries
    assert [c.name for c in entry.contacts] == ["Open Person", "Secret Person"]


#: how long a thread may wait for the other at the barrier, or to finish: a hang fails
#: the test with a message instead of stalling the suite (not a performance claim)
RACE_TIMEOUT = 30


def _race(monkeypatch, work) -> list:
    """Run `work(n)` in two threads that both pass the real duplicate pre-check
    (`contacts._email_clash`) before either inserts; returns each thread's result or
    exception, in thread order."""
    import threading

    barrier = threading.Barrier(2, timeout=RACE_TIMEOUT)
    real_clash = contacts._email_clash
    checked: list[bool] = []

    def clash_then_wait(*args, **kwargs):
        found = real_clash(*args, **kwargs)  # the real check, in this thread's transaction
        checked.append(not found)
        barrier.wait()  # the other thread has checked too: neither has inserted yet
        return found

    monkeypatch.setattr(contacts, "_email_clash", clash_then_wait)
    outcomes: list = [None, None]

    def run(n):
        try:
            outcomes[n] = work(n)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            outcomes[n] = exc

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(RACE_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a racing thread did not finish"
    assert checked == [True, True], "both threads must pass a clean pre-check before inserting"
    return outcomes


@pytest.mark.postgres
def test_duplicate_contact_email_race_is_a_validation_error(app, db, make, monkeypatch):
    """Two transactions add the same email at once, both after a clean pre-check: the
    unique index decides; exactly one contact exists and the loser gets a field error."""
    actor = make.make_user()
    partner = make.make_partner(actor)
    db.session.commit()
    actor_id, partner_id = actor.id, partner.id

    def add(n):
        with app.app_context():  # its own app context, so its own session and connection
            from crm.extensions import db as thread_db
            from crm.models import User

            try:
                me = thread_db.session.get(User, actor_id)
                at = thread_db.session.get(Partner, partner_id)
                contact = contacts.create_contact(
                    me, at, {"name": f"Racer {n}", "email": "Same@Example.org"})
                thread_db.session.commit()
                return contact.id
            finally:
                thread_db.session.rollback()
                thread_db.session.remove()

    outcomes = _race(monkeypatch, add)
    winners = [o for o in outcomes if isinstance(o, int)]
    losers = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert "email" in losers[0].fields
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 1


@pytest.mark.postgres
def test_duplicate_contact_email_race_through_the_web_is_never_a_500(app, db, make, client,
                                                                      monkeypatch):
    """The same race through two browsers posting the add-contact form at once: one
    redirect, one form answer naming the email field, no 500, one contact."""
    from tests.support.http import csrf_token, login

    actor = make.make_user()
    partner = make.make_partner(actor)
    db.session.commit()
    path = f"/partners/{partner.id}/contacts/new"
    browsers = [app.test_client(), app.test_client()]  # empty `g` per request (client fixture)
    tokens = []
    for browser in browsers:
        login(browser, actor)
        tokens.append(csrf_token(browser, path))

    def post(n):
        response = browsers[n].post(path, data={
            "name": f"Racer {n}", "email": "same@example.org", "sensitivity": "standard",
            "csrf_token": tokens[n]})
        return response.status_code, response.get_data(as_text=True)

    # the requests run in threads without the test's app context: each pushes its own
    outcomes = _race(monkeypatch, post)
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    statuses = sorted(status for status, _ in outcomes)
    assert statuses == [302, 422], statuses
    (_, form), = [o for o in outcomes if o[0] == 422]
    assert 'id="email-error"' in form
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 1
