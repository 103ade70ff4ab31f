"""Audit (ASVS V16.2/V16.3): refusals are recorded; the trail is append-only in PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from crm.models import AuditEvent
from crm.services import audit
from tests.support.http import post_form


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


@pytest.mark.postgres
def test_audit_rows_cannot_be_updated_or_deleted_on_postgres(app, db, is_postgres):
    assert is_postgres
    audit.record("test.event", actor=None, object_type="x", object_id=1)
    db.session.commit()
    for statement in ("UPDATE audit_events SET action = 'tampered'",
                      "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.scalar(select(AuditEvent.action)) == "test.event"
