"""A small hand-built network whose every number in the dashboard and reports is known.

Partners (owner):
  p1  TH civil_society  active     standard      alice
  p2  TH law_enforcement active    restricted    alice
  p3  KE technology     agreement  standard      bob
  p4  DE civil_society  prospect   confidential  bob
  p5  BR government     active     standard      bob
  p6  FR media          active     standard      bob   (archived)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from crm.extensions import db
from crm.lib import timeutil
from crm.models import Partner
from crm.services import dashboard
from tests.support import factories as f

JAN = datetime(2025, 1, 1, tzinfo=UTC)
DEC = datetime(2024, 12, 1, tzinfo=UTC)
#: the reports' period: January 2025, compared with December 2024
PERIOD = {"period": "custom", "start": "2025-01-01", "end": "2025-01-31"}


@dataclass
class Net:
    admin: object
    manager: object
    asia_manager: object
    americas_manager: object
    alice: object
    bob: object
    viewer: object
    p: dict


def build() -> Net:
    """Users and partners only (no interactions yet)."""
    users = dict(
        admin=f.make_user("admin"), manager=f.make_user("manager"),
        asia_manager=f.make_user("manager", region_scope="Asia"),
        americas_manager=f.make_user("manager", region_scope="Americas"),
        alice=f.make_user("staff", name="Alice"), bob=f.make_user("staff", name="Bob"),
        viewer=f.make_user("viewer"),
    )
    alice, bob = users["alice"], users["bob"]
    p = {
        1: f.make_partner(alice, name="Thai Civil", country="TH", sector="civil_society"),
        2: f.make_partner(alice, name="Thai Police", country="TH", sector="law_enforcement",
                          sensitivity="restricted"),
        3: f.make_partner(bob, name="Kenya Tech", country="KE", sector="technology",
                          stage="agreement"),
        4: f.make_partner(bob, name="German Secret", country="DE", sector="civil_society",
                          stage="prospect", sensitivity="confidential"),
        5: f.make_partner(bob, name="Brazil Gov", country="BR", sector="government"),
        6: f.make_partner(bob, name="French Media", country="FR", sector="media", archived=True),
    }
    return Net(**users, p=p)


def with_monthly(net: Net, now: datetime) -> list[str]:
    """Interactions placed in known months of the dashboard's 12-month window."""
    months = dashboard.last_months(now)
    at = {m: dashboard.month_start(m) + timedelta(hours=1) for m in months}
    p, alice, bob = net.p, net.alice, net.bob
    for _ in range(2):
        f.make_interaction(p[1], alice, occurred_at=at[months[-1]])
    f.make_interaction(p[1], alice, occurred_at=at[months[-2]])
    f.make_interaction(p[2], alice, occurred_at=at[months[-1]], sensitivity="restricted")
    f.make_interaction(p[3], bob, occurred_at=at[months[-3]])
    f.make_interaction(p[4], bob, occurred_at=at[months[-1]], sensitivity="confidential")
    # outside the window: never counted
    f.make_interaction(p[1], alice, occurred_at=dashboard.month_start(months[0]) - timedelta(days=3))
    return months


def with_period(net: Net) -> None:
    """Interactions and follow-ups around January 2025 (the reports' period)."""
    p, alice, bob = net.p, net.alice, net.bob
    for day in (3, 10, 20):
        f.make_interaction(p[1], alice, occurred_at=JAN.replace(day=day))
    f.make_interaction(p[1], alice, occurred_at=DEC.replace(day=15))
    f.make_interaction(p[2], alice, occurred_at=JAN.replace(day=5), sensitivity="restricted")
    f.make_interaction(p[2], alice, occurred_at=JAN.replace(day=31, hour=23))
    f.make_interaction(p[3], bob, occurred_at=DEC.replace(day=2))
    f.make_interaction(p[3], bob, occurred_at=DEC.replace(day=31, hour=23, minute=59))
    f.make_interaction(p[4], bob, occurred_at=JAN.replace(day=8), sensitivity="confidential")
    f.make_interaction(p[5], bob, occurred_at=datetime(2025, 2, 1, tzinfo=UTC))  # after
    fu = f.make_follow_up
    fu(p[1], alice, due_at=JAN.replace(day=10), status="done",
       completed_at=JAN.replace(day=9))
    fu(p[1], alice, due_at=JAN.replace(day=15), status="done",
       completed_at=JAN.replace(day=20))
    fu(p[2], alice, due_at=JAN.replace(day=20))
    fu(p[3], bob, due_at=JAN.replace(day=25))
    fu(p[4], bob, due_at=JAN.replace(day=5), status="done", completed_at=JAN.replace(day=5))
    fu(p[1], alice, due_at=JAN.replace(day=12), status="cancelled",
       completed_at=JAN.replace(day=11))
    fu(p[1], alice, due_at=datetime(2025, 3, 1, tzinfo=UTC), status="done",
       completed_at=datetime(2025, 3, 1, tzinfo=UTC))


def set_silence(net: Net, now: datetime | None = None) -> None:
    """last_interaction_at: p1 engaged, p2 cooling (law: 90/180), p3 lapsed, p4 never (added
    400 days ago: lapsed), p5 engaged (government: 70 days is still engaged)."""
    now = now or timeutil.now_utc()
    ages = {1: 10, 2: 100, 3: 200, 4: None, 5: 70, 6: 300}
    for n, days in ages.items():
        f.set_last_interaction(net.p[n], None if days is None else now - timedelta(days=days))
    net.p[4].created_at = now - timedelta(days=400)
    db.session.flush()


def grow(owner, count: int, now: datetime | None = None) -> None:
    """More partners, interactions and follow-ups: statement counts must not change."""
    now = now or timeutil.now_utc()
    sectors = ("technology", "media", "funder", "academia")
    for i in range(count):
        partner = f.make_partner(owner, name=f"Extra {i}", country=("TH", "KE", "PE", "FR")[i % 4],
                                 sector=sectors[i % 4])
        f.make_interaction(partner, owner, occurred_at=now - timedelta(days=i % 300 + 1))
        f.make_interaction(partner, owner, occurred_at=JAN.replace(day=i % 28 + 1))
        f.make_follow_up(partner, owner, due_at=JAN.replace(day=i % 28 + 1),
                         status=("open", "done")[i % 2],
                         completed_at=JAN.replace(day=28) if i % 2 else None)
        f.make_contact(partner)
    db.session.flush()


def partner_count() -> int:
    return db.session.query(Partner).count()
