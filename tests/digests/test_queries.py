"""Set-based: a digest runs exactly the statements docs/operations.md states, for a network
of 5 partners and, separately, one of 500 (each size alone in the database, so the manager's
team and the admin's network sections measure different data)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete

from crm.extensions import db
from crm.models import FollowUp, Interaction, Partner, PartnerTag, StageChange, User
from crm.models.partner import partner_collaborators
from crm.services import digests
from tests.digests import dataset as ds


def _grow(owner, n: int) -> None:
    """`n` partners owned by `owner`, each with interactions, follow-ups and a stage change."""
    partners = [Partner(name=f"Bulk {i}", name_key=f"bulk {i}", sector="technology",
                        country="TH", region="Asia", stage="active", owner_id=owner.id,
                        sensitivity="restricted" if i % 3 == 0 else "standard",
                        created_at=ds.START + timedelta(hours=i % 100),
                        last_interaction_at=ds.START - timedelta(days=59),
                        last_standard_interaction_at=ds.START - timedelta(days=59))
                for i in range(n)]
    db.session.add_all(partners)
    db.session.flush()
    for i, p in enumerate(partners):
        at = ds.START + timedelta(hours=1 + i % 150)
        db.session.add_all([
            Interaction(partner_id=p.id, kind="call", occurred_at=at, summary=f"s{i}",
                        outcome=f"o{i}", logged_by_id=owner.id, sensitivity=p.sensitivity),
            Interaction(partner_id=p.id, kind="meeting", occurred_at=at - timedelta(days=8),
                        summary="prev", logged_by_id=owner.id, sensitivity="standard"),
            FollowUp(title=f"f{i}", partner_id=p.id, assignee_id=owner.id,
                     due_at=ds.NOW + timedelta(days=(i % 10) - 5)),
            StageChange(partner_id=p.id, from_stage="dialogue", to_stage="active",
                        changed_at=at),
        ])
    db.session.flush()


#: statements per digest, as docs/operations.md ("Set-based compilation") states them:
#: 7 for the personal section (the 7th: the agreement sections, issue 15), 4 more for a
#: manager, 3 more for an admin
STATEMENTS = {"staff": 7, "manager": 7 + 4, "admin": 7 + 3}


def _clear_records() -> None:
    """Remove every partner and what hangs off it (the users stay), so that the next size's
    network is the only one the manager's and admin's sections can count."""
    for model in (StageChange, FollowUp, Interaction, PartnerTag):
        db.session.execute(delete(model))
    db.session.execute(delete(partner_collaborators))
    db.session.execute(delete(Partner))
    db.session.commit()


def _measure(count_queries, user_id: int):
    """Statements of one digest, from an empty identity map (only the user row is loaded,
    as the caller does)."""
    db.session.expunge_all()
    user = db.session.get(User, user_id)
    with count_queries() as counter:
        data = digests.compile_digest(user, ds.START, ds.END, ds.NOW)
    return counter.count, data


@pytest.mark.parametrize("role", ["staff", "manager", "admin"])
def test_statement_count_is_the_same_for_5_and_500_partners(app, db, make, count_queries, role):
    counts = {}
    for size in (5, 500):
        user = make.make_user(role, region_scope="Asia" if role == "manager" else None)
        user_id = user.id
        _grow(user, size)
        db.session.commit()
        counts[size], data = _measure(count_queries, user_id)
        assert data.interactions or data.sensitive
        if role == "manager":
            assert data.team is not None
        if role == "admin":
            assert data.network is not None
        if size == 500:
            assert data.interactions_total == 333  # listed items are capped, totals exact
            assert len(data.interactions) == digests.MAX_INTERACTIONS
            assert sum(s.count for s in data.sensitive) == 167
        else:
            assert data.interactions_total == 3
            _clear_records()
    print(f"digest ({role}): {counts[5]} statements (5 partners), {counts[500]} (500)")
    assert counts == {5: STATEMENTS[role], 500: STATEMENTS[role]}, counts
