"""The digest's agreement sections: "Agreements expiring in the next 60 days" and "Reports due
or overdue", for owners and managers, restricted ones counted and never named."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from crm import mail
from crm.services import digests
from crm.services.digests.agreements import MAX_AGREEMENTS
from tests.agreement_reminders.helpers import insert_agreements, make_agreement

START = datetime(2026, 11, 23, 8, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 8, tzinfo=UTC)
TODAY = date(2026, 11, 30)


def _texts(app, user, data) -> list[str]:
    email = digests.build_email(user, data, secret_key="k", base_url="https://crm.example.org")
    return [part.get_content() for part in mail.build(email).iter_parts()]


def test_owner_and_manager_sections_name_only_standard_agreements(app, db, make):
    owner = make.make_user(timezone="Asia/Bangkok")
    other = make.make_user()
    manager = make.make_user(role="manager", region_scope="Asia")
    europe = make.make_user(role="manager", region_scope="Europe")
    mine = make.make_partner(owner=owner, name="Tourism Board")
    secret = make.make_partner(owner=owner, name="Cyber Unit", sensitivity="restricted")
    theirs = make.make_partner(owner=other, name="Hotel Group")
    hidden = make.make_partner(owner=other, name="Vault", sensitivity="confidential")
    make_agreement(mine, title="Code membership", kind="the_code",
                   expires_on=TODAY + timedelta(days=45), next_report_due_on=TODAY - timedelta(days=3))
    make_agreement(mine, title="Far away", expires_on=TODAY + timedelta(days=200))
    make_agreement(mine, title="Already ended", expires_on=TODAY + timedelta(days=10),
                   status="terminated")
    make_agreement(secret, title="Intercept MoU", expires_on=TODAY + timedelta(days=20))
    make_agreement(theirs, title="Hotel Code", kind="the_code",
                   next_report_due_on=TODAY + timedelta(days=12))
    make_agreement(hidden, title="Vault MoU", expires_on=TODAY + timedelta(days=5))
    db.session.commit()

    data = digests.compile_digest(owner, START, NOW, NOW)
    g = data.agreements
    assert [x.label for x in g.expiring] == ["Code membership"] and g.expiring_restricted == 1
    assert [x.label for x in g.reports] == ["Code membership"] and g.reports_restricted == 0
    for body in _texts(app, owner, data):
        assert "Agreements expiring in the next 60 days (2)" in body
        assert "1 restricted agreement" in body and "overdue since" in body
        assert "Intercept" not in body and "Cyber Unit" not in body and "Far away" not in body
        assert "/agreements/" in body

    team = digests.compile_digest(manager, START, NOW, NOW).agreements
    assert [x.label for x in team.expiring] == ["Code membership"]
    assert team.expiring_restricted == 1  # the restricted one, counted; the confidential: no
    assert [x.label for x in team.reports] == ["Code membership", "Hotel Code"]
    assert not digests.compile_digest(europe, START, NOW, NOW).agreements
    assert [x.label for x in digests.compile_digest(other, START, NOW, NOW).agreements.reports
            ] == ["Hotel Code"]


def test_an_agreement_alone_makes_the_digest_worth_sending(app, db, make):
    owner = make.make_user()
    make_agreement(make.make_partner(owner=owner), expires_on=TODAY + timedelta(days=30))
    db.session.commit()
    data = digests.compile_digest(owner, START, NOW, NOW)
    assert not data.has_personal and not digests.is_empty(data)


@pytest.mark.parametrize("count", [5, 500])
def test_the_sections_cost_one_statement_for_5_and_500_agreements(
        app, db, make, count_queries, count):
    owner = make.make_user()
    owner_id, user_model = owner.id, type(owner)
    partner = make.make_partner(owner=owner)
    insert_agreements(db, partner.id, count, expires="DATE '2026-12-01'", expires_spread=50,
                      report="DATE '2026-11-20'", restricted_every=3)
    db.session.expunge_all()
    user = db.session.get(user_model, owner_id)
    with count_queries() as counter:
        data = digests.compile_digest(user, START, NOW, NOW)
    assert len(counter.statements) == 7, counter.statements
    g = data.agreements
    assert g.expiring_total + g.expiring_restricted == count  # exact, whatever the cap
    assert g.expiring_restricted == count // 3
    assert len(g.expiring) == min(g.expiring_total, MAX_AGREEMENTS)
