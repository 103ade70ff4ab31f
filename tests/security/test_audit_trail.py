"""Audit (ASVS V16.2/V16.3): refusals are recorded; the trail is append-only in PostgreSQL."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from crm.models import AuditEvent
from crm.services import audit
from tests.support.http import post_form

ROOT = Path(__file__).resolve().parents[2]


def test_invisible_record_404_is_audited(db, client, make, login_as):
    owner = make.make_user("staff")
    partner = make.make_partner(owner=owner, sensitivity="confidential")
    viewer = make.make_user("staff")
    login_as(viewer)
    assert client.get(f"/partners/{partner.id}").status_code == 404
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "authz.not_found"))
    assert event is not None and event.actor_id == viewer.id
    assert event.details["path"] == f"/partners/{partner.id}"


def test_forbidden_write_is_audited(db, client, make, login_as):
    viewer = make.make_user("viewer")
    login_as(viewer)
    response = post_form(client, "/admin/users/new", {"email": "a@example.org"},
                         token_from="/settings/")
    assert response.status_code == 403
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "authz.forbidden")).all()
    assert events and events[0].actor_id == viewer.id


def test_failed_and_successful_logins_are_audited(db, client, make, login_as):
    user = make.make_user("staff")
    db.session.commit()
    from tests.support.http import csrf_token

    client.post("/login", data={"email": user.email, "password": "wrong wrong wrong",
                                "csrf_token": csrf_token(client, "/login")})
    login_as(user)
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "auth.login_failed" in actions and "auth.login" in actions


# --- append-only, in PostgreSQL itself ------------------------------------------------

TAMPERING = ("UPDATE audit_events SET action = 'tampered'", "DELETE FROM audit_events",
             "TRUNCATE audit_events")


def _one_event(db) -> None:
    audit.record("test.event", actor=None, object_type="x", object_id=1)
    db.session.commit()


@pytest.mark.postgres
def test_update_delete_and_truncate_are_refused_for_the_role_the_app_runs_as(app, db):
    """The app's own connection (the role this run's app uses, a superuser here: the owner
    and more) with no bypass in force: every kind of tampering is refused by the trigger."""
    _one_event(db)
    assert db.session.scalar(text("SHOW session_replication_role")) == "origin"
    for statement in TAMPERING:
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.scalars(select(AuditEvent.action)).all() == ["test.event"]


@pytest.fixture
def app_role(db):
    """A role shaped like compose's `crm_app` (deploy/postgres/10-app-role.sh): no
    superuser, owns nothing, reads and writes rows. It is even granted TRUNCATE, which
    the deployment never grants, so that the trigger alone is what refuses it."""
    role = f"crm_app_audit_{uuid.uuid4().hex[:8]}"
    with db.engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" NOLOGIN NOSUPERUSER NOCREATEDB '
                          "NOCREATEROLE NOREPLICATION NOBYPASSRLS"))
        conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        conn.execute(text("GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN "
                          f'SCHEMA public TO "{role}"'))
        conn.execute(text(f'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public '
                          f'TO "{role}"'))
    try:
        yield role
    finally:
        with db.engine.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))


def _as_role(db, role: str, statement: str) -> str:
    """Run `statement` as `role` in a transaction that is rolled back; the error text."""
    with db.engine.connect() as conn:
        conn.execute(text(f'SET LOCAL ROLE "{role}"'))
        try:
            conn.execute(text(statement))
        except DBAPIError as exc:
            return str(exc.orig)
        finally:
            conn.rollback()
    return ""


@pytest.mark.postgres
def test_the_application_role_can_neither_tamper_nor_switch_the_trigger_off(app, db,
                                                                           app_role):
    _one_event(db)
    assert _as_role(db, app_role, "INSERT INTO audit_events (action, at) "
                                  "VALUES ('app.event', now())") == ""  # it may append
    for statement in TAMPERING:
        assert "append-only" in _as_role(db, app_role, statement), statement
    # the bypasses a role might try: the test wipe's replica mode, or the trigger itself
    assert "permission denied" in _as_role(
        db, app_role, "SET session_replication_role = replica")
    for statement in ("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
                      "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_truncate",
                      "DROP TRIGGER audit_events_append_only ON audit_events"):
        assert "must be owner" in _as_role(db, app_role, statement), statement
    db.session.rollback()
    assert db.session.scalars(select(AuditEvent.action)).all() == ["test.event"]


@pytest.mark.postgres
def test_the_test_wipe_is_the_only_bypass_and_it_ends_with_its_transaction(app, db):
    """`tests/conftest.py::_wipe` empties the trail with `SET LOCAL session_replication_role
    = replica` as a superuser: it works, it does not outlive its transaction, and nothing
    else in the code, migrations or tests switches the trigger off."""
    _one_event(db)
    with db.engine.connect() as conn:
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text("TRUNCATE audit_events"))
        conn.rollback()
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("TRUNCATE audit_events"))  # the wipe's bypass
        conn.rollback()  # keep the event: only the mechanism is under test here
        assert conn.execute(text("SHOW session_replication_role")).scalar_one() == "origin"
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text("DELETE FROM audit_events"))
        conn.rollback()
    assert db.session.scalars(select(AuditEvent.action)).all() == ["test.event"]
    def places(pattern: str, folders: tuple[str, ...]) -> list[str]:
        found = re.compile(pattern, re.IGNORECASE)
        return sorted(
            f"{path.relative_to(ROOT)}:{number}"
            for folder in folders for path in (ROOT / folder).rglob("*")
            if path.suffix in {".py", ".sh", ".sql"} and path != Path(__file__).resolve()
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
            if found.search(line))

    wipe = next(n for n, line in enumerate((ROOT / "tests/conftest.py").read_text(
        ).splitlines(), 1) if "SET LOCAL session_replication_role" in line)
    assert places(r"session_replication_role",
                  ("crm", "tasks", "config", "deploy", "migrations", "tests")) == [
        f"tests/conftest.py:{wipe}"]
    assert places(r"(DISABLE|DROP)\s+TRIGGER", ("crm", "tasks", "config", "deploy")) == []
