"""`flask crm seed-demo` on PostgreSQL: what every new user sees first.

The accounts and the password are read from the README's demo table, so the README and the
data cannot drift apart. The demo loads once (a second run adds nothing), covers every
sector, has overdue follow-ups to show, and every README account signs in and gets its
dashboard, partner list and follow-ups without an error.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crm.lib import timeutil
from crm.models import Contact, FollowUp, Interaction, Partner, StageChange, User
from crm.models.enums import SECTORS
from crm.services import demo
from tests.support.http import login

pytestmark = pytest.mark.postgres

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _readme_accounts() -> dict[str, str]:
    """email -> role, from the README's table under "sign in with a demo account"."""
    section = README.split("sign in with a demo account", 1)[1].split("\n\n", 2)[1]
    accounts = {}
    for line in section.splitlines()[2:]:  # below the header and the |---| line
        role_cell, emails_cell = (cell.strip() for cell in line.strip("|").split("|"))
        for email in re.findall(r"`([^`]+)`", emails_cell):
            accounts[email] = role_cell.split()[0]
    return accounts


ACCOUNTS = _readme_accounts()
README_PASSWORD = re.search(r"demo account \(password `([^`]+)`\)", README).group(1)


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _seed(app) -> str:
    result = app.test_cli_runner().invoke(args=["crm", "seed-demo"])
    assert result.exit_code == 0, result.output
    return result.output


def test_readme_table_is_what_the_demo_creates():
    assert len(ACCOUNTS) == 6 and set(ACCOUNTS.values()) == {
        "admin", "manager", "staff", "viewer"}, ACCOUNTS
    assert README_PASSWORD == demo.DEMO_PASSWORD
    assert {email: role for email, _name, role, _tz, _region in demo.DEMO_USERS} == ACCOUNTS


def test_seed_demo_loads_a_realistic_network_once(app, db):
    first = _seed(app)
    assert "Loaded demo data" in first
    db.session.expire_all()
    users = db.session.scalars(select(User)).all()
    assert {u.email: u.role for u in users} == ACCOUNTS  # one account per README row
    assert Counter(u.role for u in users) == Counter(ACCOUNTS.values())
    assert all(u.active for u in users)  # signing in with the password: the test below
    partners = db.session.scalars(select(Partner)).all()
    assert len(partners) == len(demo.PARTNERS) >= 40
    assert {p.sector for p in partners} == set(SECTORS), "a sector without a partner"
    assert {p.sensitivity for p in partners} == {"standard", "restricted", "confidential"}
    writers = {u.id for u in users if u.role in ("staff", "manager")}
    assert {p.owner_id for p in partners} <= writers
    # 1-3 contacts per partner, 2-16 interactions each, one stage change each
    per_partner = Counter(db.session.scalars(select(Contact.partner_id)))
    assert set(per_partner) == {p.id for p in partners}
    assert set(per_partner.values()) <= {1, 2, 3}
    talks = Counter(db.session.scalars(select(Interaction.partner_id)))
    assert set(talks) == {p.id for p in partners}
    # (the first six partners also get a recent meeting naming a contact and three old ones)
    assert min(talks.values()) >= 2 and max(talks.values()) <= 16
    # personal data: lawful bases, some do-not-contact requests, interactions past 10 years
    every = db.session.scalars(select(Contact)).all()
    assert all(c.lawful_basis for c in every) and any(c.do_not_contact for c in every)
    assert any(c.lawful_basis == "consent" and c.lawful_basis_on for c in every)
    oldest = db.session.scalar(select(func.min(Interaction.occurred_at)))
    assert oldest < timeutil.now_utc() - timedelta(days=3650)
    assert _count(db, StageChange) == len(partners)
    assert all(p.last_interaction_at for p in partners)
    now = timeutil.now_utc()
    follow_ups = db.session.scalars(select(FollowUp)).all()
    assert len(follow_ups) == (len(partners) + 1) // 2
    assert {f.status for f in follow_ups} == {"open"}
    overdue = [f for f in follow_ups if f.due_at < now]
    assert overdue, "the demo should show overdue follow-ups"
    assert len(overdue) < len(follow_ups), "and some still to come"

    counts = {model: _count(db, model) for model in
              (User, Partner, Contact, Interaction, FollowUp, StageChange)}
    second = _seed(app)
    assert "already exist" in second and "Loaded" not in second
    db.session.expire_all()
    assert {model: _count(db, model) for model in counts} == counts  # idempotent


@pytest.mark.parametrize("email", sorted(ACCOUNTS))
def test_every_demo_account_signs_in_and_its_pages_render(app, db, client, email):
    _seed(app)
    login(client, email, README_PASSWORD)
    for path in ("/", "/partners/", "/follow-ups/"):
        response = client.get(path)
        assert response.status_code == 200, (email, path, response.status_code)
        body = response.get_data(as_text=True)
        assert "Traceback" not in body and "Internal Server Error" not in body
    listing = client.get("/partners/?q=SafeNet").get_data(as_text=True)
    assert "SafeNet Technologies" in listing  # a standard partner every role may read


def test_demo_agreements_show_every_state_issue_15_needs(app, db, client):
    """MoUs with police units (restricted), Code members in several countries with criteria
    at different stages, an agreement expiring within 30 days and an overdue report."""
    from crm.models import Agreement, CodeCriterion

    _seed(app)
    today = timeutil.now_utc().date()
    rows = db.session.execute(select(Agreement, Partner).join(
        Partner, Partner.id == Agreement.partner_id)).all()
    police_mous = [a for a, p in rows if a.kind == "mou" and p.sector == "law_enforcement"]
    assert len(police_mous) >= 3 and {a.sensitivity for a in police_mous} <= {
        "restricted", "confidential"}
    members = {p.country for a, p in rows if a.kind == "the_code" and a.status == "active"}
    assert len(members) >= 3, members
    met = Counter(db.session.scalars(select(CodeCriterion.agreement_id).where(
        CodeCriterion.status == "met")))
    assert len(set(met.values())) >= 3 and 6 in met.values()  # all six met, and fewer
    live = [a for a, _p in rows if a.status in ("signed", "active")]
    assert any(a.expires_on and today <= a.expires_on <= today + timedelta(days=30)
               for a in live)
    assert any(a.next_report_due_on and a.next_report_due_on < today for a in live)
    statuses = {a.status for a, _p in rows}
    assert {"renewed", "terminated", "draft", "negotiation", "signed", "active"} <= statuses
    login(client, "admin@example.org", README_PASSWORD)  # every page renders
    for path in {f"/partners/{p.id}" for _a, p in rows} | {f"/agreements/{a.id}"
                                                           for a, _p in rows}:
        assert client.get(path).status_code == 200, path
