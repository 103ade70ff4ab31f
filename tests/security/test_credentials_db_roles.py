"""Issue 12 §9: compose runs migrations as the table owner and the app as a role that
cannot drop the audit trail's trigger. Runs deploy/postgres/10-app-role.sh (what the
postgres image runs on first start) and the real migrations against a scratch database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.support import services

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A database initialised like compose's: init script, then migrations as the owner."""
    admin_url = services.TEST_DATABASE_URL
    parts = urlsplit(admin_url)
    suffix = uuid.uuid4().hex[:8]
    dbname, role, password = f"crm_roles_{suffix}", f"crm_app_{suffix}", uuid.uuid4().hex
    owner = parts.username or "postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    env = {**os.environ, "POSTGRES_USER": owner, "POSTGRES_DB": dbname,
           "CRM_APP_USER": role, "CRM_APP_PASSWORD": password,
           "PGHOST": parts.hostname or "127.0.0.1", "PGPORT": str(parts.port or 5432)}
    try:
        init = subprocess.run(["sh", str(ROOT / "deploy/postgres/10-app-role.sh")], env=env,
                              capture_output=True, text=True, timeout=60)
        assert init.returncode == 0, init.stderr
        owner_url = f"postgresql://{owner}@{env['PGHOST']}:{env['PGPORT']}/{dbname}"
        migrate = subprocess.run(
            [str(Path(sys.executable).parent / "flask"), "--app", "crm", "db", "upgrade"],
            env={**env, "CRM_CONFIG": "test", "DATABASE_URL": owner_url,
                 "CRM_INSTANCE_PATH": str(tmp_path_factory.mktemp("roles"))},
            capture_output=True, text=True, timeout=180, cwd=ROOT)
        assert migrate.returncode == 0, migrate.stderr[-2000:]
        app_url = (f"postgresql://{role}:{password}@{env['PGHOST']}:{env['PGPORT']}/"
                   f"{dbname}")
        yield {"app": app_url, "owner": owner_url}
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def _refused(url: str, sql: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn, pytest.raises(psycopg.Error) as err:
        conn.execute(sql)
    return str(err.value)


def test_the_app_role_writes_rows(scratch):
    with psycopg.connect(scratch["app"], autocommit=True) as conn:
        user_id = conn.execute(
            "INSERT INTO users (email, name, role, timezone, digest_frequency, digest_weekday,"
            " digest_hour, digest_always, active, session_version, totp_enabled, created_at)"
            " VALUES ('a@example.org', 'A', 'staff', 'UTC', 'weekly', 0, 8, false, true, 1,"
            " false, now()) RETURNING id").fetchone()[0]
        conn.execute("INSERT INTO audit_events (action, actor_id, at)"
                     " VALUES ('test.event', %s, now())", (user_id,))
        conn.execute("UPDATE users SET name = 'B' WHERE id = %s", (user_id,))
        assert conn.execute("SELECT count(*) FROM audit_events").fetchone()[0] == 1


def test_the_app_role_cannot_touch_the_audit_trail_or_the_schema(scratch):
    app = scratch["app"]
    assert "must be owner" in _refused(
        app, "DROP TRIGGER audit_events_append_only ON audit_events")
    assert "must be owner" in _refused(
        app, "ALTER TABLE audit_events DISABLE TRIGGER ALL")
    assert "permission denied" in _refused(app, "TRUNCATE audit_events")
    assert "append-only" in _refused(app, "DELETE FROM audit_events")
    assert "must be owner" in _refused(app, "DROP TABLE partners")
    assert "permission denied" in _refused(app, "CREATE TABLE sneaky (id int)")
    assert "must be owner" in _refused(app, "ALTER TABLE alembic_version OWNER TO CURRENT_USER")
