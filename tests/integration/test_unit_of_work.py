"""The request's unit of work (crm/uow.py): one commit when the view succeeded, a rollback
otherwise, and after-commit callbacks released only by that commit.

Most tests run small views on an app of their own (real PostgreSQL, the real error
handlers); the last ones go through the real pages with the suite's shared session.
"""

from __future__ import annotations

import pytest
from flask import Blueprint, abort, redirect
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import StringField

from crm import uow
from crm.blueprints.formflow import save_form
from crm.extensions import csrf
from crm.extensions import db as _db
from crm.lib.text import name_key
from crm.models import Partner
from crm.services.errors import ValidationError

#: what the after-commit callbacks saw, in order
RAN: list[str] = []


def _write(name: str) -> None:
    """A real row, flushed as services do."""
    _db.session.add(Partner(name=name, name_key=name_key(name), country="TH", region="Asia",
                            sector="civil_society", stage="active", sensitivity="standard"))
    _db.session.flush()


class NameForm(FlaskForm):
    class Meta:
        csrf = False

    name = StringField("Name")


def _failing_service(name: str) -> None:
    """Writes, then refuses: the half-done write must not survive."""
    _write(name)
    raise ValidationError({"name": "That name is refused.", "__all__": "Also this."})


bp = Blueprint("uow_test", __name__)
csrf.exempt(bp)  # these views test transactions, not CSRF


@bp.post("/raise")
def write_then_raise():
    _write("raised")
    uow.after_commit(lambda: RAN.append("raise"))
    raise RuntimeError("boom")


@bp.post("/redirect")
def write_then_redirect():
    _write("redirected")
    uow.after_commit(lambda: RAN.append(f"first:{_committed('redirected')}"))
    uow.after_commit(lambda: RAN.append("second"))
    return redirect("/elsewhere")


@bp.post("/created")
def write_then_201():
    _write("created")
    return {"ok": True}, 201


@bp.post("/abort")
def write_then_abort():
    _write("aborted")
    uow.after_commit(lambda: RAN.append("abort"))
    abort(404)


@bp.post("/refuse")
def write_then_422():
    _write("refused")
    uow.after_commit(lambda: RAN.append("refuse"))
    return "try again", 422


@bp.post("/form")
def form_with_service_error():
    form = NameForm()
    saved, _, status = save_form(form, lambda: _failing_service(form.name.data))
    assert not saved
    return f"{form.name.errors}|{form.form_errors}", status


@bp.post("/commit-fails")
def commit_fails():
    # not flushed: the NOT NULL violation surfaces only at COMMIT, after the view returned
    _db.session.add(Partner(name=None, name_key="x", country="TH", region="Asia",
                            sector="civil_society", stage="active", sensitivity="standard"))
    uow.after_commit(lambda: RAN.append("commit-fails"))
    return redirect("/elsewhere")


@bp.post("/callback-fails")
def callback_fails():
    _write("callback")
    uow.after_commit(lambda: 1 / 0)
    uow.after_commit(lambda: RAN.append("after-the-failing-one"))
    return redirect("/elsewhere")


def _committed(name: str) -> int:
    """Rows named `name` as another connection sees them: committed ones only."""
    with _db.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Partner)
                           .where(Partner.name == name))


@pytest.fixture
def uow_client(app):
    """An app of its own with the views above (the suite's app has served requests)."""
    from crm import create_app
    from crm.extensions import rebind_limiter

    own = create_app("test")
    own.register_blueprint(bp, url_prefix="/uow")
    RAN.clear()
    yield own.test_client()
    with own.app_context():
        _db.session.remove()
        _db.engine.dispose()
    rebind_limiter(app)


def test_a_view_that_raises_after_a_write_leaves_nothing(uow_client):
    response = uow_client.post("/uow/raise")

    assert response.status_code == 500
    assert _committed("raised") == 0
    assert RAN == []


def test_a_view_that_writes_and_redirects_persists_then_runs_callbacks_in_order(uow_client):
    response = uow_client.post("/uow/redirect")

    assert response.status_code == 302
    assert _committed("redirected") == 1
    # the first callback already saw the row from another connection: it ran after COMMIT
    assert RAN == ["first:1", "second"]


def test_an_api_style_201_commits(uow_client):
    assert uow_client.post("/uow/created").status_code == 201
    assert _committed("created") == 1


@pytest.mark.parametrize(("path", "status", "name"), [
    ("/uow/abort", 404, "aborted"),      # abort() inside the view: the HTML error handler
    ("/uow/refuse", 422, "refused"),     # an error status returned by the view itself
])
def test_an_error_answer_rolls_back_and_drops_callbacks(uow_client, path, status, name):
    response = uow_client.post(path)

    assert response.status_code == status
    assert _committed(name) == 0
    assert RAN == []


def test_a_service_error_re_renders_the_form_and_keeps_nothing(uow_client):
    response = uow_client.post("/uow/form", data={"name": "half"})

    assert response.status_code == 422
    # beside its field; the message for no field is flashed (this form lists no form_errors)
    assert response.get_data(as_text=True) == "['That name is refused.']|[]"
    assert _committed("half") == 0


def test_a_failed_commit_answers_500_and_never_runs_callbacks(uow_client):
    response = uow_client.post("/uow/commit-fails")

    assert response.status_code == 500
    assert RAN == []


def test_a_failing_callback_is_logged_and_the_others_still_run(uow_client):
    response = uow_client.post("/uow/callback-fails")

    assert response.status_code == 302
    assert _committed("callback") == 1
    assert RAN == ["after-the-failing-one"]


def test_a_real_page_write_is_visible_to_the_test_through_the_shared_session(
        client, db, login_as, make):
    """tests/conftest.py keeps one app context (and session) for the whole test."""
    user = make.make_user(role="staff")
    partner = make.make_partner(owner=user, name="Shared session")
    login_as(user)

    response = client.post(f"/partners/{partner.id}/archive",
                           data={"csrf_token": _token(client, f"/partners/{partner.id}")})

    assert response.status_code == 302
    assert _committed_archived(partner.id) is True  # committed, not just flushed
    db.session.expire_all()
    assert db.session.get(Partner, partner.id).archived is True


def test_a_refused_real_form_keeps_nothing(client, db, login_as, make):
    """The quick-log form: the interaction is valid, its follow-up (a due day, no title)
    is refused by the service → 422, and no interaction is stored."""
    from crm.models import Interaction

    user = make.make_user(role="staff")
    partner = make.make_partner(owner=user)
    login_as(user)

    response = client.post("/interactions/new", data={
        "csrf_token": _token(client, "/interactions/new"),
        "partner_id": partner.id, "kind": "meeting", "occurred_at": "2026-01-05T10:00",
        "summary": "Talked", "sensitivity": "", "follow_up_title": "",
        "follow_up_due": "2026-02-01", "follow_up_assignee_id": user.id,
    })

    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Interaction)) == 0
    assert db.session.get(Partner, partner.id).last_interaction_at is None


def _token(client, path: str) -> str:
    from tests.support.http import csrf_token

    return csrf_token(client, path)


def _committed_archived(partner_id: int) -> bool:
    with _db.engine.connect() as conn:
        return conn.scalar(select(Partner.archived).where(Partner.id == partner_id))
