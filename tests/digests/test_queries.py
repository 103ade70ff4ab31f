"""Set-based: the statement count of a digest does not grow with the data."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.extensions import db
from crm.models import FollowUp, Interaction, Partner, StageChange
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


@pytest.mark.parametrize("role", ["staff", "manager", "admin"])
def test_statement_count_is_the_same_for_5_and_500_partners(app, db, make, count_queries, role):
    small = make.make_user(role, region_scope="Asia" if role == "manager" else None)
    large = make.make_user(role, region_scope="Asia" if role == "manager" else None)
    _grow(small, 5)
    _grow(large, 500)
    db.session.commit()
    counts = {}
    for user in (small, large):
        db.session.refresh(user)  # the user row itself is loaded by the caller
        with count_queries() as counter:
            data = digests.compile_digest(user, ds.START, ds.END, ds.NOW)
        counts[user.id] = counter.count
        assert data.interactions or data.sensitive
    assert counts[small.id] == counts[large.id]
    assert counts[small.id] <= {"staff": 6, "manager": 10, "admin": 9}[role]
    big = digests.compile_digest(large, ds.START, ds.END, ds.NOW)
    assert big.interactions_total == 333  # the listed items are capped, the total is exact
    assert len(big.interactions) == digests.MAX_INTERACTIONS
    assert sum(s.count for s in big.sensitive) == 167
