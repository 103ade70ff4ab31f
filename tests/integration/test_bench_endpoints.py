"""The benchmark-only blueprint: off by default, a real page + SQL counter when on."""

from __future__ import annotations

import pytest

from tests.support.http import login


@pytest.fixture
def bench_client(app):
    from crm import create_app
    from crm.extensions import db

    bench_app = create_app("test", BENCH_ENDPOINTS=True)
    yield bench_app.test_client()
    with bench_app.app_context():
        db.engine.dispose()


def test_baseline_runs_one_select_through_the_full_stack(bench_client, make, db):
    user = make.make_user()
    db.session.commit()
    login(bench_client, user)

    response = bench_client.get("/bench/baseline")

    assert response.status_code == 200
    assert b"<nav" in response.data  # the real layout was rendered
    assert b"answered 1" in response.data
    # the session's user lookup + SELECT 1
    assert response.headers["X-SQL-Count"] == "2"


def test_baseline_requires_sign_in(bench_client):
    response = bench_client.get("/bench/baseline")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_bench_endpoints_are_absent_unless_enabled(client, make, db, login_as):
    login_as(make.make_user())

    response = client.get("/bench/baseline")

    assert response.status_code == 404
    assert "X-SQL-Count" not in response.headers
