"""The audit trail keeps the fact, not the data: audit values can only be scrubbed, and the
migration that introduced them moved the personal values already in audit events."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from tests.support import services

pytestmark = [pytest.mark.postgres]


def _one_value(db, make) -> str:
    from crm.services import contacts

    admin = make.make_user("admin")
    partner = make.make_partner(admin)
    contacts.create_contact(admin, partner, {"name": "Trigger Person"})
    db.session.commit()
    return db.session.execute(text("SELECT id FROM audit_values WHERE value = 'Trigger Person'")
                              ).scalar_one()


@pytest.mark.parametrize("statement", [
    "UPDATE audit_values SET value = 'someone else' WHERE id = :id",
    "UPDATE audit_values SET value = 'someone else', erased_at = now() WHERE id = :id",
    "UPDATE audit_values SET value = NULL WHERE id = :id",  # a scrub says when
    "UPDATE audit_values SET value = NULL, erased_at = now(), field = 'x' WHERE id = :id",
    "DELETE FROM audit_values WHERE id = :id",
    "TRUNCATE audit_values",
])
def test_the_database_refuses_anything_but_a_scrub(db, make, statement):
    ref = _one_value(db, make)
    with pytest.raises(DBAPIError, match="may only be scrubbed"):
        db.session.execute(text(statement), {"id": ref})
    db.session.rollback()
    db.session.execute(text("UPDATE audit_values SET value = NULL, erased_at = now() "
                            "WHERE id = :id"), {"id": ref})
    db.session.commit()
    assert db.session.execute(text("SELECT value FROM audit_values WHERE id = :id"),
                              {"id": ref}).scalar() is None


def test_migration_0012_moves_personal_values_out_of_audit_events(monkeypatch):
    from flask_migrate import upgrade

    from crm import create_app
    from crm.extensions import db

    name = f"crm_test_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(services.TEST_DATABASE_URL.replace(
        "postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        monkeypatch.setenv("DATABASE_URL", services.TEST_DATABASE_URL.rsplit("/", 1)[0]
                           + f"/{name}")
        app = create_app("test")
        with app.app_context():
            upgrade(revision="0011")
            changes = {"email": [None, "old.person@example.net"], "name": ["A", "B Person"],
                       "sensitivity": ["standard", "restricted"]}
            db.session.execute(text(
                "INSERT INTO audit_events (at, action, object_type, object_id, changes) "
                "VALUES (now(), 'contact.update', 'contact', '7', CAST(:c AS JSON)), "
                "(now(), 'partner.update', 'partner', '3', CAST(:p AS JSON))"),
                {"c": json.dumps(changes), "p": json.dumps({"name": ["Old", "New"]})})
            db.session.commit()
            upgrade(revision="0012")
            rows = dict(db.session.execute(text(
                "SELECT object_type, changes::text FROM audit_events")).all())
            moved = json.loads(rows["contact"])
            assert moved["sensitivity"] == ["standard", "restricted"], "not personal: kept"
            assert moved["email"][0] is None and set(moved["email"][1]) == {"$pv"}
            assert "old.person@example.net" not in rows["contact"]
            assert json.loads(rows["partner"]) == {"name": ["Old", "New"]}, "partners: kept"
            value = db.session.execute(text(
                "SELECT object_type, object_id, field, value FROM audit_values WHERE id = :id"),
                {"id": moved["email"][1]["$pv"]}).one()
            assert tuple(value) == ("contact", "7", "email", "old.person@example.net")
            # the append-only trigger is back on after the migration
            with pytest.raises(DBAPIError):
                db.session.execute(text("UPDATE audit_events SET action = 'x'"))
            db.session.rollback()
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_an_audit_event_holds_a_reference_and_the_value_lives_apart(db, person):
    """The event of the email change names the field and refers to two audit values."""
    from crm.models import AuditEvent
    from crm.services import audit

    from .conftest import EMAIL, OLD_EMAIL

    event = db.session.query(AuditEvent).filter_by(
        action="contact.update", object_id=str(person.contact.id)).one()
    old, new = event.changes["email"]
    assert audit.is_ref(old) and audit.is_ref(new)
    assert EMAIL not in json.dumps(event.changes) and OLD_EMAIL not in json.dumps(event.changes)
    assert audit.readable_changes(event)["email"] == [OLD_EMAIL, EMAIL]
