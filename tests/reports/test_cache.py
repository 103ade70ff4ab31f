"""The dashboard chart cache: reused within its TTL, separate per visibility class."""

from __future__ import annotations

from crm.lib import cache
from crm.services import dashboard
from tests.reports import dataset


def test_get_or_compute_reuses_until_expiry(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: clock[0])
    calls = []
    assert cache.get_or_compute("k", 300, lambda: calls.append(1) or "a") == "a"
    assert cache.get_or_compute("k", 300, lambda: calls.append(1) or "b") == "a"
    clock[0] += 301
    assert cache.get_or_compute("k", 300, lambda: calls.append(1) or "c") == "c"
    assert len(calls) == 2


def test_monthly_chart_is_cached_per_user_and_shared_by_admins(db, make, count_queries):
    net = dataset.build()
    db.session.commit()
    admin2 = make.make_user(role="admin")
    db.session.commit()
    assert (net.alice.role, net.bob.role, admin2.role) == ("staff", "staff", "admin")  # loaded
    dashboard.interactions_by_month(net.alice)
    with count_queries() as q:
        dashboard.interactions_by_month(net.alice)
    assert q.count == 0
    dashboard.interactions_by_month(net.admin)
    with count_queries() as q:
        dashboard.interactions_by_month(admin2)
    assert q.count == 0
    with count_queries() as q:
        dashboard.interactions_by_month(net.bob)   # not alice's entry
    assert q.count == 1
