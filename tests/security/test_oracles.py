"""Oracles (issue 12, side path 4): every path answers as if a hidden record did not exist,
and still refuses to create a silent duplicate of it.

Each test first shows the path working for someone who may see the record (so it cannot
pass by answering nothing), then that the same question from someone who may not see it
gets an answer carrying none of the hidden record's details. Real PostgreSQL throughout.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta

from crm.extensions import db as _db
from crm.lib import timeutil
from crm.models import Contact, FollowUp, ImportJob, Interaction, Partner
from crm.services import contacts, followups, imports, interactions
from crm.services.accounts import tokens
from tests.support import factories as f
from tests.support.http import csrf_token, login, post_form

# --- helpers ------------------------------------------------------------------------------


def _bearer(user) -> dict[str, str]:
    _row, plain = tokens.create_token(user, "oracles")
    _db.session.commit()
    return {"Authorization": f"Bearer {plain}"}


def _api(client, method: str, path: str, headers: dict, body: dict | None = None):
    kwargs = {}
    if body is not None:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    return client.open("/api/v1" + path, method=method, headers=headers, **kwargs)


def _signed_in(app, user):
    """A separate browser for `user` (the `client` fixture stays free for another)."""
    other = app.test_client()
    login(other, user)
    return other


# --- 1. the CSV import preview --------------------------------------------------------------

IMPORT = (
    "name,country,sector,contact name,contact email\n"
    "Hidden Partner Org,TH,media,,\n"                        # 2: a confidential partner
    "Open Org,KE,media,Sam,secret.person@example.net\n"      # 3: a confidential contact there
    "Brand New Org,TH,media,Una,unit.chief@example.net\n"    # 4: a contact at a hidden partner
    "Another New Org,KE,media,Sue,seen.person@example.net\n"  # 5: a contact the manager sees
    "Fresh Org,KE,media,Ned,new.person@example.net\n"        # 6: nothing known
)


def _import_world():
    owner = f.make_user(name="Other Owner")
    manager = f.make_user("manager", region_scope="Africa", name="Mo Manager")
    admin = f.make_user("admin")
    hidden = f.make_partner(owner, name="Hidden Partner Org", country="TH", sector="media",
                            sensitivity="confidential")
    open_org = f.make_partner(owner, name="Open Org", country="KE", sector="media")
    f.make_contact(open_org, name="Secret Person", email="secret.person@example.net",
                   sensitivity="confidential")
    asia_unit = f.make_partner(owner, name="Asia Unit", country="TH", sensitivity="restricted")
    f.make_contact(asia_unit, name="Unit Chief", email="unit.chief@example.net")
    seen = f.make_partner(owner, name="Seen Org", country="KE")
    f.make_contact(seen, name="Seen Person", email="seen.person@example.net")
    _db.session.commit()
    return manager, admin, hidden, open_org, asia_unit, seen


def _check(user) -> dict[int, imports.RowCheck]:
    header, table = imports.read_table(IMPORT)
    mapping = imports.clean_mapping(header, imports.auto_mapping(header))
    return {r.line: r for r in imports.check_rows(header, table, mapping, user).rows}


def test_import_preview_is_no_oracle_for_hidden_partners_and_contacts(db):
    manager, admin, hidden, open_org, asia_unit, seen = _import_world()
    # the administrator (and the CLI) is told exactly why
    for who in (admin, None):
        rows = _check(who)
        assert rows[2].ok and f"duplicate of existing partner #{hidden.id}" in rows[2].notes[0]
        assert rows[3].ok and rows[3].contact_exists
        assert f"secret.person@example.net already exists (partner #{open_org.id})" in \
            " ".join(rows[3].notes)
        assert f"unit.chief@example.net already exists (partner #{asia_unit.id})" in \
            " ".join(rows[4].notes)
    # the regional manager: the same neutral words for each hidden clash, nothing else
    rows = _check(manager)
    for line in (2, 3, 4):
        assert rows[line].problems == [imports.WITHHELD], rows[line].problems
        assert rows[line].notes == []
        assert rows[line].partner_id is None and not rows[line].contact_exists
    assert f"#{hidden.id}, confidential" in rows[2].withheld[0]  # kept for administrators
    # what the manager may see is still matched and named
    assert rows[5].ok and f"seen.person@example.net already exists (partner #{seen.id})" in \
        " ".join(rows[5].notes)
    assert rows[6].ok and rows[6].notes == []


def test_import_page_and_results_withhold_hidden_records_from_the_importer(db, app, client):
    manager, admin, hidden, open_org, asia_unit, _seen = _import_world()
    contacts_before = _db.session.query(Contact).count()
    partners_before = _db.session.query(Partner).count()
    login(client, manager)
    token = csrf_token(client, "/admin/import")
    upload = client.post("/admin/import", content_type="multipart/form-data", data={
        "csrf_token": token, "file": (io.BytesIO(IMPORT.encode()), "p.csv")})
    assert upload.status_code == 302
    job_url = upload.headers["Location"]
    page = client.get(job_url).get_data(as_text=True)
    assert page.count(imports.WITHHELD) == 3 and 'data-problems="3"' in page
    for leak in ("cannot see", "already exists (partner #" + str(open_org.id),
                 "secret.person", "unit.chief", f"#{asia_unit.id})", "exists that"):
        assert leak not in page, leak
    # the administrator opening the same preview sees why
    admin_page = _signed_in(app, admin).get(job_url).get_data(as_text=True)
    assert f"duplicate of existing partner #{hidden.id}" in admin_page
    assert imports.WITHHELD not in admin_page
    # run it as the manager: nothing is duplicated, the results stay neutral for them
    job = _db.session.scalars(_db.select(ImportJob)).one()
    imports.execute_job(job)
    _db.session.commit()
    assert _db.session.query(Partner).count() == partners_before + 2  # lines 5 and 6 only
    assert _db.session.query(Contact).count() == contacts_before + 1  # line 6's Ned
    assert _db.session.query(Partner).filter_by(name="Hidden Partner Org").count() == 1
    done = client.get(job_url).get_data(as_text=True)
    assert done.count(imports.WITHHELD) == 3 and "For administrators" not in done
    assert "secret.person" not in done and "unit.chief" not in done
    csv_text = client.get(f"{job_url}/results.csv").data.decode("utf-8-sig")
    assert csv_text.splitlines()[0] == "row,name,outcome,reason"
    assert "secret.person" not in csv_text and f"#{hidden.id}" not in csv_text
    # … and the administrator sees, for each withheld row, what it clashed with
    admin_client = _signed_in(app, admin)
    admin_done = admin_client.get(job_url).get_data(as_text=True)
    assert admin_done.count("For administrators:") == 3
    assert f"(#{hidden.id}, confidential)" in admin_done and "secret.person" in admin_done
    admin_csv = admin_client.get(f"{job_url}/results.csv").data.decode("utf-8-sig")
    assert admin_csv.splitlines()[0] == "row,name,outcome,reason,detail"
    assert f"unit.chief@example.net already exists (partner #{asia_unit.id})" in admin_csv


# --- 2. contact email uniqueness -----------------------------------------------------------

def test_contact_email_clash_with_a_hidden_contact_is_refused_neutrally(db, app, client):
    owner = f.make_user(name="Owner")
    staff = f.make_user(name="Staff")
    admin = f.make_user("admin")
    partner = f.make_partner(owner, name="Shared Partner")  # standard: staff sees it
    f.make_contact(partner, name="Secret Source", email="source@example.net",
                   sensitivity="confidential")
    f.make_contact(partner, name="Public Person", email="public@example.net")
    mine = f.make_contact(partner, name="My Contact", email="mine@example.net")
    _db.session.commit()
    # a clash the user can see is named as before
    with_visible = _api(client, "POST", f"/partners/{partner.id}/contacts", _bearer(staff),
                        {"name": "Dup", "email": "PUBLIC@example.net"})
    assert with_visible.status_code == 422
    assert with_visible.get_json()["error"]["fields"]["email"] == contacts.EMAIL_TAKEN
    # a clash with a contact the user cannot see: refused, but nothing says it exists
    hidden = _api(client, "POST", f"/partners/{partner.id}/contacts", _bearer(staff),
                  {"name": "New", "email": "Source@example.net"})
    assert hidden.status_code == 422
    body = hidden.get_data(as_text=True)
    assert hidden.get_json()["error"]["fields"]["email"] == contacts.EMAIL_WITHHELD
    assert "Secret Source" not in body and "Another contact" not in body
    changed = _api(client, "PATCH", f"/contacts/{mine.id}", _bearer(staff),
                   {"email": "source@example.net"})
    assert changed.get_json()["error"]["fields"]["email"] == contacts.EMAIL_WITHHELD
    # the web form says the same
    login(client, staff)
    page = f"/partners/{partner.id}/contacts/new"
    form = post_form(client, page, {"name": "New", "email": "source@example.net",
                                    "sensitivity": "standard"}, token_from=page)
    assert form.status_code == 422
    text = form.get_data(as_text=True)
    assert "cannot be used for a contact here" in text and "already has this email" not in text
    # no duplicate was created, and the administrator is told why
    assert _db.session.query(Contact).filter(
        _db.func.lower(Contact.email) == "source@example.net").count() == 1
    by_admin = _api(client, "POST", f"/partners/{partner.id}/contacts", _bearer(admin),
                    {"name": "New", "email": "source@example.net"})
    assert by_admin.get_json()["error"]["fields"]["email"] == contacts.EMAIL_TAKEN


# --- 3. InteractionOut.contact_ids ---------------------------------------------------------

def _meeting(owner, *visible_and_hidden: tuple[str, str]):
    partner = f.make_partner(owner)
    people = [f.make_contact(partner, name=name, sensitivity=sens)
              for name, sens in visible_and_hidden]
    meeting = f.make_interaction(partner, owner, sensitivity="standard", contacts=people)
    return meeting, people


def test_interaction_contact_ids_list_only_contacts_the_caller_may_see(db, client):
    owner = f.make_user()
    staff = f.make_user()
    meeting, (public, secret) = _meeting(owner, ("Public", "standard"),
                                         ("Informant", "confidential"))
    _db.session.commit()
    as_owner, as_staff = _bearer(owner), _bearer(staff)
    one = _api(client, "GET", f"/interactions/{meeting.id}", as_owner).get_json()
    assert one["contact_ids"] == sorted([public.id, secret.id])
    one = _api(client, "GET", f"/interactions/{meeting.id}", as_staff).get_json()
    assert one["contact_ids"] == [public.id]
    listed = _api(client, "GET", f"/interactions?partner_id={meeting.partner_id}",
                  as_staff).get_json()["items"]
    assert [i["contact_ids"] for i in listed] == [[public.id]]
    # a PATCH by someone who cannot see the informant keeps them linked, and does not say so
    patched = _api(client, "PATCH", f"/interactions/{meeting.id}", as_staff,
                   {"contact_ids": [public.id], "summary": "Edited"})
    assert patched.status_code == 200, patched.get_data(as_text=True)
    assert patched.get_json()["contact_ids"] == [public.id]
    linked, _staff = interactions.linked_ids(_db.session.get(Interaction, meeting.id))
    assert linked == sorted([public.id, secret.id])
    _db.session.expire_all()  # a new request starts with a new session (tests share one)
    assert _api(client, "GET", f"/interactions/{meeting.id}",
                as_owner).get_json()["contact_ids"] == sorted([public.id, secret.id])


def test_interaction_list_statement_count_does_not_grow(db, client, count_queries):
    owner = f.make_user()
    staff = f.make_user()
    headers = _bearer(staff)

    def statements() -> int:
        with count_queries() as counter:
            response = _api(client, "GET", "/interactions?per_page=100", headers)
        assert response.status_code == 200
        return counter.count

    for _ in range(2):
        _meeting(owner, ("A", "standard"), ("B", "confidential"))
    _db.session.commit()
    statements()  # the token's first use records its last use: not part of the page
    few = statements()
    for _ in range(20):
        _meeting(owner, ("A", "standard"), ("B", "confidential"))
    _db.session.commit()
    assert statements() == few


# --- 4. "Upcoming reminders" ---------------------------------------------------------------

def test_upcoming_reminders_follow_visibility_not_just_the_assignment(db, client):
    owner = f.make_user()
    colleague = f.make_user()
    secret = f.make_partner(owner, name="Unidad Reservada", sensitivity="restricted",
                            collaborators=[colleague])
    public = f.make_partner(owner, name="Open Network")
    soon = timeutil.now_utc() + timedelta(days=3)
    f.make_follow_up(secret, colleague, title="Brief the unit chief", due_at=soon)
    f.make_follow_up(public, colleague, title="Send the newsletter", due_at=soon)
    _db.session.commit()
    login(client, colleague)
    page = client.get("/follow-ups/reminders").get_data(as_text=True)
    assert "Brief the unit chief" in page and "Unidad Reservada" in page  # may see: shown
    colleague.role = "viewer"  # demoted: still the assignee, no longer allowed to see it
    _db.session.commit()
    page = client.get("/follow-ups/reminders").get_data(as_text=True)
    assert "Brief the unit chief" not in page and "Unidad Reservada" not in page
    assert "Send the newsletter" in page and "Open Network" in page


# --- 5. the staff directory ----------------------------------------------------------------

def test_viewers_get_no_staff_directory(db, app, client):
    f.make_user(name="Dana Director", email="dana.director@example.org")
    staff = f.make_user(name="Sam Staff")
    viewer = f.make_user("viewer", name="Vic Viewer")
    _db.session.commit()
    staff_client = _signed_in(app, staff)
    for url in ("/partners/owners?q=dana", "/interactions/people?q=dana",
                "/interactions/people/others?q=dana"):
        items = staff_client.get(url).get_json()["items"]
        assert [i["name"] for i in items] == ["Dana Director"], url
        assert set(items[0]) == {"id", "name"}  # never an email
    # a name search cannot be used to confirm an email address
    assert staff_client.get("/interactions/people?q=director@").get_json()["items"] == []
    login(client, viewer)
    for url in ("/partners/owners?q=dana", "/partners/owners?q=", "/interactions/people?q=",
                "/interactions/people/others?q=dana"):
        response = client.get(url)
        assert response.status_code == 200 and response.get_json() == {"items": []}, url


def test_assignee_errors_name_nobody_and_say_the_same_for_every_reason(db, client):
    owner = f.make_user(name="Olive Owner")
    partner = f.make_partner(owner, name="Restricted Unit", sensitivity="restricted")
    reader = f.make_user("viewer", name="Reader Rhea")
    gone = f.make_user(name="Gone Gus", active=False)
    outsider = f.make_user(name="Outside Otto")  # staff, not in the partner's circle
    _db.session.commit()
    headers = _bearer(owner)
    due = (timeutil.now_utc() + timedelta(days=2)).isoformat()
    messages = set()
    for assignee_id in (reader.id, gone.id, outsider.id, 987654):
        response = _api(client, "POST", "/follow-ups", headers, {
            "title": "Call back", "due_at": due, "partner_id": partner.id,
            "assignee_id": assignee_id})
        assert response.status_code == 422, response.get_data(as_text=True)
        body = response.get_data(as_text=True)
        for name in ("Reader", "Gone", "Otto", "read-only", "cannot see"):
            assert name not in body, (assignee_id, body)
        messages.add(response.get_json()["error"]["fields"]["assignee_id"])
    assert messages == {followups.ASSIGNEE_REFUSED}
    # logging an interaction with a follow-up says the same
    past = (timeutil.now_utc() - timedelta(hours=1)).isoformat()
    logged = _api(client, "POST", "/interactions", headers, {
        "partner_id": partner.id, "kind": "call", "occurred_at": past, "summary": "Called",
        "follow_up": {"title": "Again", "due_at": due, "assignee_id": outsider.id}})
    assert logged.status_code == 422
    assert list(logged.get_json()["error"]["fields"].values()) == [followups.ASSIGNEE_REFUSED]
    assert "Otto" not in logged.get_data(as_text=True)
    # a good assignee still works
    ok = _api(client, "POST", "/follow-ups", headers, {
        "title": "Call back", "due_at": due, "partner_id": partner.id,
        "assignee_id": owner.id})
    assert ok.status_code == 201, ok.get_data(as_text=True)
    assert _db.session.query(FollowUp).count() == 1
