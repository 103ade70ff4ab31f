"""`make run`'s embedded mode: the demo on SQLite answers every main page for every role.

CI runs the suite on PostgreSQL; SQL that only PostgreSQL accepts (a one-argument
COALESCE, GREATEST) would otherwise first show up on a newcomer's laptop as a 500.
"""

from __future__ import annotations

import pytest
from flask_migrate import upgrade

from tests.support.http import login

DEMO_PASSWORD = "partner-crm-demo"
PAGES = (
    "/", "/partners/", "/partners/?sort=-last_interaction", "/partners/?sort=last_interaction",
    "/partners/?health=lapsed", "/partners/?health=engaged", "/partners/?health=new", "/follow-ups/",
    "/follow-ups/reminders", "/follow-ups/new", "/interactions/new", "/reports/",
    "/reports/silence.csv", "/exports/partners.csv",
)


@pytest.fixture
def embedded_app(app, tmp_path, monkeypatch):
    """A second app on a fresh SQLite file, seeded like `make run`; the suite's app after."""
    from crm import create_app
    from crm.extensions import db, rebind_limiter
    from crm.services.demo import seed_demo

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    embedded = create_app("test")
    with embedded.app_context():
        upgrade()
        seed_demo()
        db.session.commit()
    yield embedded
    with embedded.app_context():
        db.session.remove()
        db.engine.dispose()
    app.extensions["celery"].set_default()
    rebind_limiter(app)


@pytest.mark.parametrize("email", ["admin@example.org", "manager@example.org",
                                   "staff@example.org", "viewer@example.org"])
def test_demo_pages_answer_on_sqlite(embedded_app, email):
    with embedded_app.app_context():
        from crm.extensions import db
        from crm.models import Partner

        partner_ids = list(db.session.scalars(db.select(Partner.id).limit(5)))
        client = embedded_app.test_client()
        login(client, email, DEMO_PASSWORD)
        failures = {}
        for path in (*PAGES, *(f"/partners/{pid}" for pid in partner_ids)):
            status = client.get(path).status_code
            if status >= 500:
                failures[path] = status
        assert not failures, failures
