"""One migration chain upgrades an empty database on SQLite and PostgreSQL, with no drift."""

from __future__ import annotations

import os
import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from crm.extensions import db as _db


def _drift(engine) -> list:
    with engine.connect() as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLite cannot reflect expression indexes
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, _db.metadata)


def _expression_index_noise(diff) -> bool:
    """SQLite cannot reflect functional indexes, so autogenerate reports them as missing."""
    return diff[0] == "add_index" and diff[1].name in {"uq_users_email_lower",
                                                        "uq_contacts_partner_email"}


def test_sqlite_upgrade_from_empty_has_no_drift(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    from crm import create_app

    app = create_app("test")
    with app.app_context():
        upgrade()
        engine = _db.engine
        diffs = [d for d in _drift(engine) if not _expression_index_noise(d)]
        assert diffs == []
        names = set(inspect(engine).get_table_names())
        assert {"users", "partners", "interactions", "follow_ups", "deliveries",
                "audit_events"} <= names
        downgrade(revision="base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        _db.engine.dispose()


@pytest.mark.postgres
def test_postgres_schema_from_migrations_has_no_drift(app, is_postgres):
    """The session database was built by `upgrade()` (see conftest): compare it to the models."""
    assert is_postgres
    assert _drift(_db.engine) == []


@pytest.mark.postgres
def test_postgres_case_insensitive_unique_email_and_dedupe_key(app, make, db):
    from sqlalchemy.exc import IntegrityError

    from crm.models import Delivery

    make.make_user(email="Ana@Example.org")
    db.session.commit()
    with pytest.raises(IntegrityError):
        make.make_user(email="ana@example.org")
    db.session.rollback()
    db.session.add(Delivery(kind="digest", dedupe_key="digest:1:2026-11-23"))
    db.session.commit()
    db.session.add(Delivery(kind="digest", dedupe_key="digest:1:2026-11-23"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.postgres
def test_postgres_enumerations_are_checked(app, make, db):
    from sqlalchemy.exc import IntegrityError

    owner = make.make_user()
    with pytest.raises(IntegrityError):
        make.make_partner(owner, sector="piracy")
    db.session.rollback()


def test_every_foreign_key_and_list_filter_is_indexed(app):
    """Each FK column leads some index (or the primary key) so joins and deletes stay cheap."""
    engine = _db.engine
    inspector = inspect(engine)
    missing = []
    for table in inspector.get_table_names():
        leading = {tuple(ix["column_names"][:1]) for ix in inspector.get_indexes(table)}
        pk = inspector.get_pk_constraint(table)["constrained_columns"]
        if pk:
            leading.add(tuple(pk[:1]))
        for fk in inspector.get_foreign_keys(table):
            col = tuple(fk["constrained_columns"][:1])
            if col not in leading:
                missing.append(f"{table}.{col[0]}")
    assert missing == []
    partner_indexes = {tuple(ix["column_names"]) for ix in inspector.get_indexes("partners")}
    for column in ("sector", "country", "stage", "owner_id", "last_interaction_at"):
        assert (column,) in partner_indexes
    assert ("partner_id", "occurred_at") in {
        tuple(ix["column_names"]) for ix in inspector.get_indexes("interactions")}
    assert ("assignee_id", "status", "due_at") in {
        tuple(ix["column_names"]) for ix in inspector.get_indexes("follow_ups")}
    assert os.environ.get("DATABASE_URL")
