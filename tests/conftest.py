"""Test fixtures: the real PostgreSQL (a private database per run) and Redis when present.

Without PostgreSQL the suite runs on SQLite and skips the tests marked `postgres`,
saying so; with CI=true an unreachable service is a failure, never a skip, and so is any
other skip or xfail (`tests/support/ci_skips.py`).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from contextlib import contextmanager, suppress
from pathlib import Path

_INSTANCE = Path(tempfile.mkdtemp(prefix="crm-test-instance-"))
os.environ["CRM_INSTANCE_PATH"] = str(_INSTANCE)
os.environ["CRM_CONFIG"] = "test"
for _var in ("DATABASE_URL", "REDIS_URL", "SMTP_HOST", "SECRET_KEY"):
    os.environ.pop(_var, None)

import pytest  # noqa: E402
from flask import g, has_app_context  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402

from tests.support import ci_skips, services  # noqa: E402

_STATE: dict = {}


def _service_state() -> dict:
    if not _STATE:
        _STATE["postgres"] = services.postgres_available()
        _STATE["redis"] = services.redis_available()
    return _STATE


def pytest_configure(config):
    ci_skips.register(config)  # CI=true: a skipped or xfailed test fails the run
    state = _service_state()
    missing = [name for name, up in state.items() if not up]
    if missing and services.IN_CI:
        raise pytest.UsageError(
            f"CI=true but {', '.join(missing)} unreachable "
            f"(TEST_DATABASE_URL={services.TEST_DATABASE_URL}, "
            f"TEST_REDIS_URL={services.TEST_REDIS_URL}); nothing may be skipped in CI"
        )


def pytest_collection_modifyitems(config, items):
    state = _service_state()
    for item in items:
        if "postgres" in item.keywords and not state["postgres"]:
            item.add_marker(pytest.mark.skip(
                reason=f"PostgreSQL unreachable at {services.TEST_DATABASE_URL}"))
        if "redis" in item.keywords and not state["redis"]:
            item.add_marker(pytest.mark.skip(
                reason=f"Redis unreachable at {services.TEST_REDIS_URL}"))


def pytest_report_header(config):
    state = _service_state()
    return [
        f"PostgreSQL: {'yes' if state['postgres'] else 'NO — running on SQLite'} "
        f"({services.TEST_DATABASE_URL})",
        f"Redis: {'yes' if state['redis'] else 'NO — redis tests skipped'} "
        f"({services.TEST_REDIS_URL})",
    ]


# --- the database ---------------------------------------------------------------

@pytest.fixture(scope="session")
def database_url():
    """A private database for this run: concurrent runs never share tables."""
    if _service_state()["postgres"]:
        name = f"crm_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = create_engine(services.TEST_DATABASE_URL.replace(
            "postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        base = services.TEST_DATABASE_URL.rsplit("/", 1)[0]
        yield f"{base}/{name}"
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        yield f"sqlite:///{_INSTANCE / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def _app(database_url):
    """The application, with the schema built by the real migrations."""
    os.environ["DATABASE_URL"] = database_url
    from flask_migrate import upgrade

    from crm import create_app

    app = create_app("test")
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        from crm.extensions import db

        db.session.remove()
        db.engine.dispose()


_RESTART_SEQUENCES = """
DO $$
DECLARE seq record;
BEGIN
    FOR seq IN SELECT sequencename FROM pg_sequences
               WHERE schemaname = current_schema() AND last_value IS NOT NULL LOOP
        PERFORM setval(quote_ident(seq.sequencename), 1, false);
    END LOOP;
END $$
"""


def _wipe(db):
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE's new files for
            # every table and index cost ~150 ms per test. The audit trail refuses DELETE by
            # trigger; a superuser's test wipe may switch ordinary triggers (foreign keys
            # included) off for this transaction only. Sequences restart as TRUNCATE's
            # RESTART IDENTITY did, by setval (no new files either).
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("; ".join(f"DELETE FROM {table}" for table in tables)))
            conn.execute(text(_RESTART_SEQUENCES))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def app(_app):
    """The app inside an app context; every table is emptied afterwards."""
    from crm.extensions import db, limiter

    ctx = _app.app_context()
    ctx.push()
    with suppress(Exception):
        limiter.reset()
    yield _app
    db.session.remove()
    _wipe(db)
    ctx.pop()


@pytest.fixture
def db(app):
    from crm.extensions import db as _db

    return _db


class _FreshGlobalsClient(FlaskClient):
    """Test client whose requests start with an empty `g`.

    The `app` fixture keeps one app context open for the whole test (so tests share
    `db.session` with the views). Flask reuses that context for requests, and with it
    `g` — where Flask-WTF caches the CSRF token and Flask-Login the current user. A
    browser's requests never share those, so neither may ours.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            for key in list(g):
                g.pop(key, None)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = _FreshGlobalsClient
    return app.test_client()


@pytest.fixture
def is_postgres(app):
    from crm.extensions import db

    return db.engine.dialect.name == "postgresql"


# --- query counting ---------------------------------------------------------------

class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """`with count_queries() as counter: …; counter.count` — SQL statements executed."""
    from crm.extensions import db

    @contextmanager
    def _count():
        counter = QueryCounter()

        def before(conn, cursor, statement, parameters, context, executemany):
            counter.statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", before)

    return _count


# --- mail ------------------------------------------------------------------------

@pytest.fixture
def smtp(app, monkeypatch):
    """A real SMTP server (aiosmtpd) the app sends to for this test; `.messages` holds mail."""
    from tests.support.smtp import SmtpSink

    with SmtpSink() as sink:
        monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
        monkeypatch.setitem(app.config, "SMTP_PORT", sink.port)
        yield sink


# --- users -----------------------------------------------------------------------

@pytest.fixture
def make(app):
    """Factories module, e.g. `make.make_user(role="admin")`."""
    from tests.support import factories

    return factories


@pytest.fixture
def login_as(client, db):
    """Sign a user in through the real form: `login_as(user)`."""
    from tests.support.http import login

    def _login(user):
        db.session.commit()
        return login(client, user)

    return _login
