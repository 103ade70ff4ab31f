"""Mass assignment (ASVS V2.2 / V15.3.3): fields a form does not declare are ignored."""

from __future__ import annotations

from sqlalchemy import select

from crm.models import User
from tests.support.http import post_form

EXTRA = {"role": "admin", "owner_id": "1", "sensitivity": "confidential", "id": "999",
         "active": "y", "session_version": "42", "password_hash": "x", "totp_enabled": "y",
         "logged_by_id": "1", "created_at": "2000-01-01", "archived": "y",
         "region_scope": "Europe", "email": "hijack@evil.example"}


def test_profile_form_ignores_extras(db, client, make, login_as):
    user = make.make_user("viewer")
    login_as(user)
    post_form(client, "/settings/profile", {**EXTRA, "name": "Still Viewer", "timezone": "UTC"},
              token_from="/settings/")
    db.session.expire_all()
    assert (user.role, user.region_scope, user.email.endswith("example.org"),
            user.session_version, user.totp_enabled) == ("viewer", None, True, 1, False)
    assert user.name == "Still Viewer"


def test_invite_form_ignores_extras(db, client, make, login_as):
    login_as(make.make_user("admin"))
    data = {**EXTRA, "email": "fresh@example.org", "name": "Fresh", "role": "viewer",
            "region_scope": "", "timezone": "UTC"}
    post_form(client, "/admin/users/new", data, token_from="/admin/users/new")
    user = db.session.scalar(select(User).where(User.email == "fresh@example.org"))
    assert user.password_hash is None and user.session_version == 1 and not user.totp_enabled
    assert user.role == "viewer" and user.id != 999


def test_password_forms_ignore_extras(app, db, client, make, login_as):
    user = make.make_user("staff")
    login_as(user)
    new = "gentle thunder over marble"
    post_form(client, "/settings/password", {**EXTRA, "current_password":
                                             "correct horse battery staple",
                                             "new_password": new, "confirm": new},
              token_from="/settings/")
    db.session.expire_all()
    assert user.role == "staff" and user.email.endswith("example.org")


def test_partner_form_ignores_undeclared_fields(app, db, client, make, login_as):
    if "partners.new" not in app.view_functions:
        return
    from crm.models import Partner

    staff = make.make_user("staff")
    login_as(staff)
    post_form(client, "/partners/new", {"name": "Mass Org", "sector": "media", "country": "FR",
                                        "stage": "prospect", "sensitivity": "standard",
                                        "owner_id": str(staff.id), "id": "999",
                                        "archived": "y", "last_interaction_at": "2000-01-01",
                                        "name_key": "hijack"},
              token_from="/partners/new")
    partner = db.session.scalar(select(Partner).where(Partner.name == "Mass Org"))
    assert partner is not None and partner.id != 999
    assert partner.last_interaction_at is None and partner.name_key != "hijack"
    assert not getattr(partner, "archived", False)


def test_contact_form_ignores_undeclared_fields(app, db, client, make, login_as):
    from crm.models import Contact

    staff = make.make_user("staff")
    partner = make.make_partner(owner=staff)
    other = make.make_partner(owner=staff)
    login_as(staff)
    path = f"/partners/{partner.id}/contacts/new"
    post_form(client, path, {"name": "Mass Contact", "sensitivity": "standard",
                             "partner_id": str(other.id), "id": "999",
                             "created_at": "2000-01-01", "archived": "y"}, token_from=path)
    contact = db.session.scalar(select(Contact).where(Contact.name == "Mass Contact"))
    assert contact is not None, "the contact form should accept this input"
    assert contact.partner_id == partner.id and contact.id != 999


def test_interaction_form_ignores_undeclared_fields(app, db, client, make, login_as):
    from crm.models import Interaction

    staff = make.make_user("staff")
    someone = make.make_user("staff")
    partner = make.make_partner(owner=staff)
    login_as(staff)
    post_form(client, "/interactions/new", {
        "partner_id": str(partner.id), "kind": "call", "occurred_at": "2026-01-05T10:00",
        "summary": "Mass summary", "sensitivity": "",
        "logged_by_id": str(someone.id), "id": "999", "created_at": "2000-01-01"},
        token_from="/interactions/new")
    interaction = db.session.scalar(select(Interaction).where(
        Interaction.summary == "Mass summary"))
    assert interaction is not None, "the interaction form should accept this input"
    assert interaction.logged_by_id == staff.id and interaction.id != 999
