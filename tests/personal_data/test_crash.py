"""A crash mid-erasure leaves the person untouched; run again, they are fully erased.

The erasure runs in a separate process (`flask --app crm crm erase-contact`) and is
made to wait inside its transaction: the test holds a row lock on one of the person's audit
values, which the erasure must scrub after it has already rewritten the contact and redacted
the mentions. Once PostgreSQL shows it waiting on that lock, the process is SIGKILLed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError

from tests.support.wait import lock_waiters, wait_until

from .conftest import EMAIL, NAME, build_person

pytestmark = [pytest.mark.postgres]

APP_NAME = "crm-erasure-crash-test"
ROOT = Path(__file__).resolve().parents[2]


def _erase_in_a_process(url: str, person) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "CRM_CONFIG": "test"}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "crm", "crm",
                             "erase-contact", str(person.contact.id), "--admin",
                             person.admin.email, "--confirm", NAME],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _state(db, person) -> dict:
    from crm.models import AuditValue, Contact, IdempotencyKey, Interaction

    db.session.expire_all()
    contact = db.session.get(Contact, person.contact.id)
    values = list(db.session.scalars(select(AuditValue.value).where(
        AuditValue.object_type == "contact", AuditValue.object_id == str(contact.id))))
    return {"name": contact.name, "email": contact.email, "erased_at": contact.erased_at,
            "values": values,
            "summary": db.session.get(Interaction, person.interaction.id).summary,
            "keys": db.session.query(IdempotencyKey).count()}


def test_killed_mid_erasure_leaves_the_person_untouched(app, db, make):
    person = build_person(db, make)
    before = _state(db, person)
    assert before["name"] == NAME and EMAIL in before["values"] and before["keys"] == 2
    url = db.engine.url.set(query={"application_name": APP_NAME}).render_as_string(
        hide_password=False)
    holder = create_engine(db.engine.url)
    with holder.connect() as lock:
        lock.execute(text(
            "SELECT id FROM audit_values WHERE object_type = 'contact' AND object_id = :id "
            "ORDER BY id LIMIT 1 FOR UPDATE"), {"id": str(person.contact.id)})
        process = _erase_in_a_process(url, person)
        try:
            wait_until(lambda: process.poll() is not None or lock_waiters(db.engine) > 0,
                       timeout=60, message="the erasure to wait on the audit_values lock")
            assert process.poll() is None, process.communicate()
            with holder.connect() as probe, pytest.raises(OperationalError):
                # the erasure already rewrote the contact in its open transaction
                probe.execute(text("SELECT id FROM contacts WHERE id = :id FOR UPDATE NOWAIT"),
                              {"id": person.contact.id})
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        lock.rollback()
    # the killed client's server process is ended too (it would notice on its next write)
    with holder.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = :name"), {"name": APP_NAME})
        wait_until(lambda: conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
            {"name": APP_NAME}).scalar() == 0, message="the killed erasure's backend to end")
    holder.dispose()
    assert _state(db, person) == before, "a crash mid-erasure changed the person"

    result = app.test_cli_runner().invoke(args=[
        "crm", "erase-contact", str(person.contact.id), "--admin", person.admin.email,
        "--confirm", NAME])
    assert result.exit_code == 0, result.output
    assert "5 mention(s) redacted" in result.output
    after = _state(db, person)
    assert after["name"] == f"Erased contact #{person.contact.id}" and after["email"] is None
    assert after["erased_at"] is not None and after["values"]
    assert all(v is None for v in after["values"])
    assert NAME not in after["summary"] and after["keys"] == 1


def test_a_second_erasure_waiting_on_the_first_changes_nothing(app, db, make):
    """Two admins erase the same person at once: the second waits for the first's row lock,
    then finds the person erased and writes nothing (no redaction, no second event)."""
    from crm.models import AuditEvent, Contact, User
    from crm.services.personal_data import erasure

    person = build_person(db, make)
    outcome: dict = {}

    def second_admin() -> None:
        with app.app_context():  # its own session and connection, as another request
            try:
                admin = db.session.get(User, person.admin.id)
                contact = db.session.get(Contact, person.contact.id)
                outcome["erased"] = erasure.erase_contact(admin, contact, redact_keys=None)
                db.session.commit()
            finally:
                db.session.remove()

    holder = create_engine(db.engine.url)
    with holder.connect() as first:
        # the first erasure, in progress: the contact row is written and locked
        first.execute(text("UPDATE contacts SET erased_at = now(), name = :name, email = NULL "
                           "WHERE id = :id"),
                      {"id": person.contact.id, "name": f"Erased contact #{person.contact.id}"})
        thread = threading.Thread(target=second_admin)
        thread.start()
        try:
            wait_until(lambda: not thread.is_alive() or lock_waiters(db.engine) > 0,
                       timeout=60, message="the second erasure to wait on the contact's lock")
        finally:
            first.commit()
            thread.join(60)
    holder.dispose()
    assert outcome == {"erased": False}
    state = _state(db, person)
    assert NAME in state["summary"], "the second erasure redacted nothing"
    assert state["keys"] == 2 and EMAIL in state["values"]
    assert db.session.query(AuditEvent).filter_by(action="contact.erase").count() == 0
