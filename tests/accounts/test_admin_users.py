"""Role, scope and deactivation: admins only, audited old → new, effective at once."""

from __future__ import annotations

from sqlalchemy import select

from crm.models import AuditEvent, User
from crm.services.accounts import tokens
from tests.support.http import post_form


def _edit(client, user, **changes):
    data = {"name": user.name, "role": user.role, "region_scope": user.region_scope or "",
            "timezone": user.timezone, "active": "y" if user.active else "", **changes}
    if not data["active"]:
        data.pop("active")
    path = f"/admin/users/{user.id}"
    return post_form(client, path, data, token_from=path)


def test_role_and_scope_change_is_audited_old_to_new(db, client, make, login_as):
    admin = make.make_user("admin")
    staff = make.make_user("staff")
    login_as(admin)
    response = _edit(client, staff, role="manager", region_scope="Africa")
    assert response.status_code == 302
    db.session.expire_all()
    assert (staff.role, staff.region_scope) == ("manager", "Africa")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.update"))
    assert event.actor_id == admin.id and event.object_id == str(staff.id)
    assert event.changes == {"role": ["staff", "manager"], "region_scope": [None, "Africa"]}


def test_deactivation_ends_sessions_and_api_tokens_at_once(app, db, client, make, login_as):
    admin = make.make_user("admin")
    staff = make.make_user("staff")
    _, plain = tokens.create_token(staff, "laptop")
    db.session.commit()
    theirs = app.test_client()
    from tests.support.http import login

    login(theirs, staff)
    assert theirs.get("/settings/").status_code == 200
    login_as(admin)
    assert _edit(client, staff, active="").status_code == 302
    db.session.expire_all()
    assert staff.active is False and staff.session_version == 2
    assert theirs.get("/settings/").status_code == 302  # signed out on the next request
    assert tokens.user_for_token(plain) is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.deactivate"))
    assert event.changes == {"active": [True, False]}


def test_last_active_admin_cannot_be_demoted_or_deactivated(db, client, make, login_as):
    admin = make.make_user("admin")
    make.make_user("admin", active=False)  # an inactive admin does not count
    login_as(admin)
    demote = _edit(client, admin, role="staff")
    assert demote.status_code == 422 and b"last active admin" in demote.data
    deactivate = _edit(client, admin, active="")
    assert deactivate.status_code == 422 and b"last active admin" in deactivate.data
    db.session.expire_all()
    assert admin.role == "admin" and admin.active
    second = make.make_user("admin")
    db.session.commit()
    assert _edit(client, second, role="staff").status_code == 302


def test_mass_assignment_on_edit_is_ignored(db, client, make, login_as):
    admin = make.make_user("admin")
    staff = make.make_user("staff")
    login_as(admin)
    _edit(client, staff, email="hijack@example.org", password_hash="x", session_version="99",
          totp_enabled="y")
    db.session.expire_all()
    refreshed = db.session.get(User, staff.id)
    assert refreshed.email != "hijack@example.org" and refreshed.session_version == 1
    assert refreshed.totp_enabled is False
