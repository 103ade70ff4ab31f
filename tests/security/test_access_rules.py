"""The visibility rule as a decision table: every role and relation × every level × every kind
of record, checked against an oracle written from docs/domain.md, not from access.py.

`standard`: every active user. `restricted`: the owner, collaborators, managers whose region
scope covers the partner (an unscoped manager covers all), admins. `confidential`: the owner
and admins. Viewers see `standard` only; inactive users see nothing. A record is readable when
its partner and the record itself are; a follow-up also by its assignee, unless the assignee
is a viewer. These tests are part of the mutation check (`make mutation`, docs/testing.md).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import literal, select
from sqlalchemy.dialects import postgresql, sqlite

from crm.models import Contact, FollowUp, Interaction, Partner
from crm.services import access
from tests.support import factories as f

LEVELS = ("standard", "restricted", "confidential")
#: one date per level, so the date a reader is shown names the levels they may see
DATES = {"standard": datetime(2024, 1, 1, tzinfo=UTC),
         "restricted": datetime(2024, 2, 1, tzinfo=UTC),
         "confidential": datetime(2024, 3, 1, tzinfo=UTC)}


#: partner id -> its collaborators' ids (filled by the fixture)
COLLABORATORS: dict[int, set[int]] = {}


def level_ok(user, level: str, partner) -> bool:
    """The oracle for one level of one partner."""
    if not user.active:
        return False
    if user.role == "admin" or level == "standard":
        return True
    if user.role == "viewer":
        return False
    owner = partner.owner_id == user.id
    if level == "confidential":
        return owner
    collaborator = user.id in COLLABORATORS[partner.id]
    covers = user.role == "manager" and user.region_scope in (None, partner.region)
    return owner or collaborator or covers


@pytest.fixture
def world(db):
    people = {
        "admin": f.make_user("admin"),
        "manager_asia": f.make_user("manager", region_scope="Asia"),
        "manager_europe": f.make_user("manager", region_scope="Europe"),
        "manager_anywhere": f.make_user("manager"),
        "owner": f.make_user("staff"),
        "collaborator": f.make_user("staff"),
        "other_staff": f.make_user("staff"),
        "viewer": f.make_user("viewer"),
        "viewer_collaborator": f.make_user("viewer"),
        "inactive_admin": f.make_user("admin", active=False),
        "inactive_owner": f.make_user("staff", active=False),
    }
    COLLABORATORS.clear()
    team = [people["collaborator"], people["viewer_collaborator"]]
    partners, interactions, contacts, follow_ups = [], [], [], []
    # (country, owner, collaborators): a collaborator of some partners is not one of all
    for country, owner, collaborators in (("TH", "owner", team), ("BR", "inactive_owner", team),
                                          ("TH", "owner", [])):
        for level in LEVELS:
            partner = f.make_partner(people[owner], country=country, sensitivity=level,
                                     collaborators=collaborators)
            COLLABORATORS[partner.id] = {c.id for c in collaborators}
            partners.append(partner)
            for record_level in LEVELS:
                interactions.append(f.make_interaction(partner, sensitivity=record_level))
                contacts.append(f.make_contact(partner, sensitivity=record_level))
                for assignee in ("other_staff", "viewer", "manager_europe"):
                    follow_up = f.make_follow_up(partner, people[assignee])
                    # the services keep a follow-up at least as strict as its partner; the
                    # rule must hold without that help, so some rows here are below it
                    follow_up.sensitivity = record_level
                    follow_ups.append(follow_up)
    for partner in partners:  # after the interactions, which move these forward
        for when_level, when in DATES.items():
            setattr(partner, f"last_{when_level}_interaction_at", when)
        partner.last_interaction_at = DATES["confidential"]
    db.session.commit()
    return people, partners, interactions, contacts, follow_ups


def _readable(user, record) -> bool:
    partner = record.partner if hasattr(record, "partner") else record
    if isinstance(record, Partner):
        return level_ok(user, record.sensitivity, record)
    readable = (level_ok(user, partner.sensitivity, partner)
                and level_ok(user, record.sensitivity, partner))
    if isinstance(record, FollowUp) and record.assignee_id == user.id:
        return readable or (user.active and user.role != "viewer")
    return readable


def _partner_of(db, record):
    return db.session.get(Partner, record.partner_id)


@pytest.mark.parametrize("who", ["admin", "manager_asia", "manager_europe", "manager_anywhere",
                                 "owner", "collaborator", "other_staff", "viewer",
                                 "viewer_collaborator", "inactive_admin", "inactive_owner"])
def test_every_role_and_relation_sees_exactly_what_the_rule_says(db, world, who):
    people, partners, interactions, contacts, follow_ups = world
    user = people[who]
    for record in interactions + contacts + follow_ups:
        record.partner = _partner_of(db, record)
    scopes = [(Partner, access.visible_partners, partners),
              (Interaction, access.visible_interactions, interactions),
              (Contact, access.visible_contacts, contacts),
              (FollowUp, access.visible_follow_ups, follow_ups)]
    for model, scope, records in scopes:
        expected = {r.id for r in records if _readable(user, r)}
        listed = set(db.session.scalars(scope(user)).unique().all())
        assert {r.id for r in listed} == expected, (who, model.__name__)
        assert {r.id for r in db.session.scalars(scope(user, select(model))).unique()} == expected
        # a caller's own statement is scoped as it is (here: ids only, no entities)
        assert set(db.session.scalars(scope(user, select(model.id)))) == expected
        for record in records:
            if record.id in expected:
                assert access.get_visible(user, model, str(record.id)).id == record.id
            else:
                with pytest.raises(access.NotVisible) as missing:
                    access.get_visible(user, model, record.id)
                assert missing.value.args == (model.__name__,)  # audited as the object type
    for partner in partners:
        assert access.can_see_partner(user, partner.id) is level_ok(
            user, partner.sensitivity, partner), (who, partner.sensitivity)


@pytest.mark.parametrize("who", ["admin", "manager_asia", "manager_europe", "owner",
                                 "collaborator", "other_staff", "viewer", "inactive_owner"])
def test_the_last_interaction_shown_is_the_latest_of_the_levels_the_reader_may_see(db, world,
                                                                                     who):
    people, partners, *_ = world
    user = people[who]
    db.session.expire_all()
    for partner in db.session.scalars(access.visible_partners(user)).all():
        seen = [DATES[level] for level in LEVELS if level_ok(user, level, partner)]
        expected = max(seen) if seen else None
        assert partner.last_interaction_seen == expected, (who, partner.sensitivity)
    # the same expression reached directly, for a partner the reader cannot open too
    values = dict(db.session.execute(
        select(Partner.id, access.last_interaction_seen(user))).all())
    for partner in partners:
        seen = [DATES[level] for level in LEVELS if level_ok(user, level, partner)]
        got = values[partner.id]
        got = got.replace(tzinfo=UTC) if isinstance(got, datetime) and got.tzinfo is None else got
        if isinstance(got, str):  # SQLite returns the stored text for an expression
            got = datetime.fromisoformat(got).replace(tzinfo=UTC)
        assert got == (max(seen) if seen else None), (who, partner.id)


@pytest.mark.parametrize("who", ["admin", "manager_asia", "collaborator", "viewer",
                                 "inactive_admin"])
def test_each_level_clause_on_its_own_matches_the_rule(db, world, who):
    """`level_clause` is public: callers shortcut admins before it, it must not rely on that."""
    people, partners, *_ = world
    user = people[who]
    for level in LEVELS:
        seen = set(db.session.scalars(select(Partner.id).where(
            access.level_clause(user, level))))
        assert seen == {p.id for p in partners if level_ok(user, level, p)}, (who, level)


def test_a_follow_up_knows_when_its_partner_is_hidden(db, world):
    people, partners, *_ = world
    user = people["other_staff"]  # sees standard partners, and what is assigned to them
    db.session.expire_all()
    loaded = db.session.scalars(access.visible_follow_ups(user)).unique().all()
    assert loaded
    for follow_up in loaded:
        partner = db.session.get(Partner, follow_up.partner_id)
        assert follow_up.partner_hidden is (partner.sensitivity != "standard"), partner.sensitivity
    assert {fu.partner_hidden for fu in loaded} == {True, False}


@pytest.mark.parametrize("bad", ["abc", None, "1.5", ""])
def test_an_id_that_is_not_a_number_is_not_visible(db, world, bad):
    people, *_ = world
    with pytest.raises(access.NotVisible, match="Partner"):
        access.get_visible(people["admin"], Partner, bad)


def test_get_visible_applies_loader_options(db, world):
    from sqlalchemy.orm import selectinload

    people, partners, *_ = world
    partner = access.get_visible(people["admin"], Partner, partners[0].id,
                                 selectinload(Partner.collaborators))
    assert len(partner.collaborators) == 2


def test_none_and_inactive_users_see_nothing_and_write_nothing(db, world):
    people, partners, *_ = world
    for user in (None, people["inactive_admin"]):
        assert db.session.scalars(access.visible_partners(user)).all() == []
        assert db.session.scalars(access.visible_follow_ups(user)).all() == []
        with pytest.raises(access.Forbidden) as refused:
            access.ensure_can_write(user)
        assert refused.value.args == ("read-only account",)  # audited as the object type
        assert not access.may_widen_access(user, partners[0])
    with pytest.raises(access.Forbidden):
        access.ensure_can_write(people["viewer"])
    access.ensure_can_write(people["other_staff"])  # no exception


@pytest.mark.parametrize(("who", "country", "allowed"), [
    ("admin", "TH", True), ("owner", "TH", True), ("manager_asia", "TH", True),
    ("manager_anywhere", "TH", True), ("manager_europe", "TH", False),
    ("manager_asia", "BR", False), ("collaborator", "TH", False), ("other_staff", "TH", False),
    ("viewer", "TH", False), ("viewer_collaborator", "TH", False), ("inactive_admin", "TH", False),
    ("inactive_owner", "BR", False),
])
def test_who_may_widen_access(db, world, who, country, allowed):
    people, partners, *_ = world
    partner = next(p for p in partners if p.country == country)
    user = people[who]
    assert access.may_widen_access(user, partner) is allowed
    access.ensure_may_lower(user, partner, "standard", "restricted")  # raising: anyone
    access.ensure_may_lower(user, partner, "restricted", "restricted")
    if allowed:
        access.ensure_may_lower(user, partner, "confidential", "standard")
    else:
        with pytest.raises(access.Forbidden) as refused:
            access.ensure_may_lower(user, partner, "confidential", "restricted")
        assert refused.value.message == access.WIDEN_REFUSED
        assert refused.value.args == ("sensitivity",)  # audited as the object type


def test_a_manager_with_an_empty_scope_covers_every_region(db, world):
    people, partners, *_ = world
    manager = f.make_user("manager", region_scope="")
    restricted = [p for p in partners if p.sensitivity == "restricted"]
    assert all(access.may_widen_access(manager, p) for p in partners)
    assert {p.id for p in db.session.scalars(access.visible_partners(manager))} >= {
        p.id for p in restricted}


def test_levels_order_and_floors(db):
    assert access.strictest() == "standard"
    assert access.strictest(None, "standard") == "standard"
    assert access.strictest("restricted", None, "standard") == "restricted"
    assert access.strictest("standard", "confidential", "restricted") == "confidential"
    assert [access.at_least(a, b) for a, b in [
        ("standard", "standard"), ("restricted", "standard"), ("standard", "restricted"),
        ("confidential", "restricted"), ("restricted", "confidential")]] == [
        True, True, False, True, False]
    partner = Partner(sensitivity="restricted", sector="civil_society")
    assert access.follow_up_floor(partner) == "restricted"
    assert access.follow_up_floor(partner, Interaction(sensitivity="standard")) == "restricted"
    assert access.follow_up_floor(partner, Interaction(sensitivity="confidential")) == (
        "confidential")
    police = Partner(sensitivity="standard", sector="law_enforcement")
    assert access.default_interaction_sensitivity(police) == "restricted"
    assert access.default_interaction_sensitivity(
        Partner(sensitivity="confidential", sector="law_enforcement")) == "confidential"
    assert access.default_interaction_sensitivity(
        Partner(sensitivity="restricted", sector="law_enforcement")) == "restricted"
    assert access.default_interaction_sensitivity(
        Partner(sensitivity="standard", sector="media")) == "standard"
    refused = access.Forbidden("x", message="shown")
    assert refused.message == "shown" and refused.args == ("x",)
    assert access.Forbidden("y").message is None


@pytest.mark.parametrize(("values", "expected"), [
    ((1,), 1), ((None, 2, 1), 2), ((3, None, None), 3), ((1, 5, None, 4), 5), ((None, None), None),
])
def test_greatest_ignores_nulls_on_sqlite(values, expected):
    expression = access.greatest(*(literal(v) if v is not None else literal(None)
                                   for v in values))
    sql = str(expression.compile(dialect=sqlite.dialect(),
                                 compile_kwargs={"literal_binds": True}))
    assert sqlite3.connect(":memory:").execute(f"SELECT {sql}").fetchone()[0] == expected


def test_greatest_is_greatest_on_postgresql():
    expression = access.greatest(literal(1), literal(2))
    sql = str(expression.compile(dialect=postgresql.dialect(),
                                 compile_kwargs={"literal_binds": True}))
    assert sql == "GREATEST(1, 2)"
    assert access.greatest(literal(datetime(2024, 1, 1)), literal(None)).type.python_type is (
        datetime)


def test_dates_are_distinct_per_level():
    """The table's premise: one date per level, so each reader's answer names its levels."""
    assert len(set(DATES.values())) == len(DATES)
    assert max(DATES.values()) - min(DATES.values()) > timedelta(days=30)


def test_partner_hidden_stays_right_when_the_follow_up_is_refreshed(db, world):
    """Reloaded after a commit, `partner_hidden` is computed without the statement's joined
    partner: collaborating on some other partner must not unhide this one."""
    people, partners, *_ = world
    user = people["collaborator"]
    lone = next(p for p in partners if p.sensitivity == "restricted" and not COLLABORATORS[p.id])
    assigned = f.make_follow_up(lone, user, title="handed over")
    db.session.commit()
    loaded = access.get_visible(user, FollowUp, assigned.id)  # the assignee exception
    assert loaded.partner_hidden is True
    db.session.commit()  # expires it: the next read refreshes with the same options
    assert loaded.title == "handed over" and loaded.partner_hidden is True
    # the expression is self-contained: right even where no partner is joined
    alone = select(FollowUp.id, access._partner_hidden(user)).where(FollowUp.id == assigned.id)
    assert db.session.execute(alone).one()[1] is True
