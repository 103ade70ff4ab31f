"""The owner and tag filters are remote autocompletes: the list page renders only the
chosen value, and tag names are scoped by visibility (they may sit on confidential partners)."""

from __future__ import annotations

from tests.support.http import csrf_token


def test_list_renders_only_the_chosen_owner_and_tag(client, db, make, login_as):
    me = make.make_user(name="Owner Olga")
    make.make_user(name="Someone Else")
    make.make_partner(me, name="Tagged", tags=["tourism"])
    make.make_partner(me, name="Other", tags=["hotlines"])
    db.session.commit()
    login_as(me)
    body = client.get("/partners/").get_data(as_text=True)
    assert "Someone Else" not in body and '<option value="hotlines"' not in body
    assert 'data-remote="/partners/owners"' in body and 'data-remote="/partners/tags"' in body
    body = client.get(f"/partners/?owner_id={me.id}&tag=tourism").get_data(as_text=True)
    assert f'<option value="{me.id}" selected>Owner Olga</option>' in body
    assert '<option value="tourism" selected>tourism</option>' in body


def test_tag_suggestions_are_scoped_by_visibility(client, db, make, login_as):
    me = make.make_user()
    other = make.make_user()
    make.make_partner(me, tags=["tourism", "tour operators"])
    make.make_partner(other, sensitivity="confidential", tags=["tour secret"])
    db.session.commit()
    assert client.get("/partners/tags?q=tour").status_code in (302, 401)
    login_as(me)
    items = client.get("/partners/tags?q=TOUR").get_json()["items"]
    assert [i["name"] for i in items] == ["tour operators", "tourism"]
    assert items[0]["id"] == "tour operators"
    assert client.get("/partners/tags?q=").get_json()["items"] == []
    assert client.get("/partners/tags?q=%25").get_json()["items"] == []


def test_owner_suggestions_are_active_writers(client, db, make, login_as):
    me = make.make_user(name="Olga Owner")
    make.make_user(name="Olga Viewer", role="viewer")
    make.make_user(name="Olga Gone", active=False)
    db.session.commit()
    login_as(me)
    items = client.get("/partners/owners?q=olga").get_json()["items"]
    assert items == [{"id": me.id, "name": "Olga Owner"}]


def test_viewers_get_no_owner_directory(client, db, make, login_as):
    owner = make.make_user(name="Olga Owner")
    make.make_partner(owner, name="Quiet Partner", sensitivity="confidential")
    viewer = make.make_user("viewer")
    db.session.commit()
    login_as(viewer)
    response = client.get("/partners/owners?q=olga")
    assert response.status_code == 200 and response.get_json() == {"items": []}
    # nor can the list page be made to name a user by id (others may: names only)
    assert "Olga Owner" not in client.get(f"/partners/?owner_id={owner.id}").get_data(
        as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login_as(make.make_user())
    assert f'<option value="{owner.id}" selected>Olga Owner</option>' in client.get(
        f"/partners/?owner_id={owner.id}").get_data(as_text=True)
