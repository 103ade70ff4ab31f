"""Partner, contact and audit pages through the real forms (CSRF on)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from crm.lib import timeutil
from crm.models import AuditEvent, Contact, Partner
from tests.support.http import csrf_token, post_form

GOOD = {"name": "Fundación Renacer", "sector": "civil_society", "country": "CO",
        "stage": "dialogue", "sensitivity": "standard", "website": "https://renacer.org",
        "email": "", "description": "", "tags": "osec, training", "owner_id": ""}


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_list_search_filters_sort_and_counts(client, db, make, login_as):
    user = make.make_user()
    make.make_partner(user, name="Ämber Police", sector="law_enforcement", country="DE",
                      last_interaction_at=timeutil.now_utc())
    make.make_partner(user, name="Zeta Hotels", sector="travel_tourism", tags=["tourism"])
    login_as(user)
    body = client.get("/partners/").get_data(as_text=True)
    assert "2 partners" in body
    assert body.index("Ämber Police") < body.index("Zeta Hotels")
    body = client.get("/partners/?q=AMBER").get_data(as_text=True)
    assert "1 partner" in body and "Zeta Hotels" not in body
    body = client.get("/partners/?sort=-name").get_data(as_text=True)
    assert body.index("Zeta Hotels") < body.index("Ämber Police")
    body = client.get("/partners/?tag=tourism&health=new").get_data(as_text=True)
    assert "Zeta Hotels" in body and "Ämber Police" not in body
    body = client.get("/partners/?sector=pirates").get_data(as_text=True)
    assert "were not understood" in body and "2 partners" in body
    body = client.get("/partners/?q=nothing-like-this").get_data(as_text=True)
    assert "No partner matches these filters" in body and "clear the filters" in body


def test_list_paginates(client, db, make, login_as):
    user = make.make_user()
    for n in range(30):
        make.make_partner(name=f"P{n:02d}")
    login_as(user)
    body = client.get("/partners/?page=2").get_data(as_text=True)
    assert "30 partners" in body and "page 2 of 2" in body and "P29" in body and "P00" not in body


def test_autocomplete_only_visible_non_archived(client, db, make, login_as):
    owner, other = make.make_user(), make.make_user()
    make.make_partner(owner, name="Safe Hotels")
    make.make_partner(owner, name="Safe Police", sensitivity="restricted")
    make.make_partner(owner, name="Safe Archive", archived=True)
    login_as(other)
    items = client.get("/partners/autocomplete?q=safe").get_json()["items"]
    assert [i["name"] for i in items] == ["Safe Hotels"]
    assert set(items[0]) == {"id", "name"}


def test_create_partner_via_form_and_escape(client, db, make, login_as):
    user = make.make_user()
    login_as(user)
    data = dict(GOOD, name="<script>alert(1)</script> Org")
    response = post_form(client, "/partners/new", data, token_from="/partners/new")
    assert response.status_code == 302
    partner = db.session.scalar(select(Partner))
    assert partner.owner_id == user.id and partner.region == "Americas"
    body = client.get(f"/partners/{partner.id}").get_data(as_text=True)
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body


def test_duplicate_warning_requires_confirmation(client, db, make, login_as):
    user = make.make_user()
    existing = make.make_partner(name="Fundacion RENACER", country="CO")
    login_as(user)
    response = post_form(client, "/partners/new", GOOD, token_from="/partners/new")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "already exists" in body and f"/partners/{existing.id}" in body
    assert _count(db, Partner) == 1
    response = post_form(client, "/partners/new", dict(GOOD, confirm_duplicate="y"),
                         token_from="/partners/new")
    assert response.status_code == 302
    assert _count(db, Partner) == 2


def test_bad_input_shows_field_errors_and_saves_nothing(client, db, make, login_as):
    user = make.make_user()
    login_as(user)
    for field, value, needle in (("name", "", "This field is required"),
                                 ("name", "x" * 300, "200"),
                                 ("country", "XX", "Not a valid choice"),
                                 ("sector", "pirates", "Not a valid choice"),
                                 ("website", "javascript:alert(1)", "web address"),
                                 ("email", "nope", "email"),
                                 ("owner_id", "999999", "Not a valid choice"),
                                 ("sensitivity", "secret", "Not a valid choice"),
                                 ("collaborator_ids", "999999", "not a valid choice"),
                                 ("tags", "ok, <b>bad</b>", "Tags use letters")):
        response = post_form(client, "/partners/new", dict(GOOD, **{field: value}),
                             token_from="/partners/new")
        assert response.status_code == 422, field
        assert needle in response.get_data(as_text=True), field
    assert _count(db, Partner) == 0


def test_mass_assignment_extra_fields_are_ignored(client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(user, name="Keep")
    db.session.commit()
    login_as(user)
    page = f"/partners/{partner.id}/edit"
    data = dict(GOOD, name="Renamed", country="TH", archived="1", version=str(partner.version),
                name_key="hacked", last_interaction_at="2020-01-01", id="999",
                owner_id=str(user.id))
    response = post_form(client, page, data, token_from=page)
    assert response.status_code == 302
    db.session.expire_all()
    partner = db.session.get(Partner, partner.id)
    assert partner.name == "Renamed" and partner.name_key == "renamed"
    assert not partner.archived and partner.last_interaction_at is None and partner.id != 999


def test_edit_refuses_a_change_that_hides_the_partner(client, db, make, login_as):
    user, other = make.make_user(), make.make_user()
    partner = make.make_partner(user, name="Mine")
    db.session.commit()
    login_as(user)
    page = f"/partners/{partner.id}/edit"
    response = post_form(client, page, dict(GOOD, name="Mine", owner_id=str(other.id),
                                            sensitivity="confidential"), token_from=page)
    assert response.status_code == 422
    assert "could no longer see" in response.get_data(as_text=True)
    db.session.expire_all()
    partner = db.session.get(Partner, partner.id)
    assert partner.owner_id == user.id and partner.sensitivity == "standard"


def test_stale_version_is_refused(client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(user, name="Old")
    db.session.commit()
    login_as(user)
    page = f"/partners/{partner.id}/edit"
    response = post_form(client, page, dict(GOOD, version="0"), token_from=page)
    assert response.status_code == 422 and "Someone else changed" in response.get_data(True)


def test_archive_and_unarchive(client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(user, name="Old Friend")
    login_as(user)
    show = f"/partners/{partner.id}"
    response = post_form(client, f"{show}/archive", token_from=show, follow_redirects=True)
    assert "archived: it no longer shows" in response.get_data(as_text=True)
    assert "Old Friend" not in client.get("/partners/").get_data(as_text=True)
    assert "Old Friend" in client.get("/partners/?archived=1").get_data(as_text=True)
    assert post_form(client, f"{show}/unarchive", token_from=show).status_code == 302
    assert "Old Friend" in client.get("/partners/").get_data(as_text=True)


def test_partner_page_sections_and_timeline_load_more(client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(user, name="Timeline Org", tags=["osec"])
    make.make_contact(partner, name="Ana Contact")
    make.make_follow_up(partner, user, title="Send the MoU")
    now = timeutil.now_utc()
    for n in range(30):
        make.make_interaction(partner, user, occurred_at=now - timedelta(days=n + 1),
                              summary=f"Meeting number {n}")
    login_as(user)
    body = client.get(f"/partners/{partner.id}").get_data(as_text=True)
    for needle in ("Ana Contact", "Send the MoU", "Meeting number 0", "#osec", "Load older"):
        assert needle in body
    assert "Meeting number 29" not in body
    start = body.index(f'hx-get="/partners/{partner.id}/timeline') + len('hx-get="')
    more = body[start:body.index('"', start)].replace("&amp;", "&")
    fragment = client.get(more).get_data(as_text=True)
    assert "Meeting number 29" in fragment and "<html" not in fragment
    assert client.get(f"/partners/{partner.id}/timeline?before=junk").status_code == 400


def test_viewing_sensitive_partner_is_audited(client, db, make, login_as):
    user = make.make_user()
    standard = make.make_partner(user)
    restricted = make.make_partner(user, sensitivity="restricted")
    login_as(user)
    client.get(f"/partners/{standard.id}")
    client.get(f"/partners/{restricted.id}")
    views = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "partner.view"))
    assert [e.object_id for e in views] == [str(restricted.id)]


def test_contacts_add_edit_and_rules(client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(user, sensitivity="restricted")
    make.make_contact(partner, email="taken@example.org")
    login_as(user)
    page = f"/partners/{partner.id}/contacts/new"
    form = {"name": "Ana", "email": "TAKEN@example.org", "sensitivity": "restricted",
            "language": "es"}
    response = post_form(client, page, form, token_from=page)
    assert response.status_code == 422
    assert "already has this email" in response.get_data(as_text=True)
    response = post_form(client, page, dict(form, email="ana@example.org",
                                            sensitivity="standard"), token_from=page)
    assert "less sensitive" in response.get_data(as_text=True)
    response = post_form(client, page, dict(form, email="ana@example.org", partner_id="1"),
                         token_from=page)
    assert response.status_code == 302
    contact = db.session.scalar(select(Contact).where(Contact.name == "Ana"))
    edit = f"/contacts/{contact.id}/edit"
    response = post_form(client, edit, dict(form, email="ana@example.org", name="Ana María",
                                            sensitivity="confidential"), token_from=edit)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).name == "Ana María"
    assert _count(db, Contact) == 2


def test_contact_at_invisible_partner_is_404(client, db, make, login_as):
    owner, other = make.make_user(), make.make_user()
    hidden = make.make_partner(owner, sensitivity="confidential")
    contact = make.make_contact(hidden)
    login_as(other)
    page = f"/partners/{hidden.id}/contacts/new"
    assert client.get(page).status_code == 404
    token = csrf_token(client, "/partners/")
    assert client.post(page, data={"name": "X", "csrf_token": token}).status_code == 404
    assert client.post(f"/contacts/{contact.id}/edit",
                       data={"name": "X", "csrf_token": token}).status_code == 404
    assert _count(db, Contact) == 1


def test_viewer_sees_no_write_buttons(client, db, make, login_as):
    viewer = make.make_user("viewer")
    partner = make.make_partner(name="Readable")
    login_as(viewer)
    body = client.get(f"/partners/{partner.id}").get_data(as_text=True)
    assert "Edit" not in body and "Archive" not in body and "contacts/new" not in body
    assert "New partner" not in client.get("/partners/").get_data(as_text=True)


def test_audit_page_filters_and_shows_old_new(client, db, make, login_as):
    admin = make.make_user("admin", name="Ada Admin")
    staff = make.make_user(name="Sam Staff")
    login_as(staff)
    post_form(client, "/partners/new", GOOD, token_from="/partners/new")
    partner = db.session.scalar(select(Partner))
    page = f"/partners/{partner.id}/edit"
    post_form(client, page, dict(GOOD, stage="agreement", version="1"), token_from=page)
    assert client.get("/admin/audit").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/partners/")})
    login_as(admin)
    body = client.get(f"/admin/audit?actor_id={staff.id}&action=partner.update").get_data(True)
    assert "1 event" in body and "Stage:" in body and "Dialogue" in body and "Agreement" in body
    body = client.get(f"/admin/audit?object_type=partner&object_id={partner.id}").get_data(True)
    assert "2 events" in body
    body = client.get("/admin/audit?action=partner&date_from=2000-01-01&date_to=2000-01-02")
    assert "0 events" in body.get_data(True)
    body = client.get("/admin/audit?date_from=yesterday").get_data(True)
    assert "is not a date" in body
