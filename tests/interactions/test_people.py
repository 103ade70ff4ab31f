"""The people pickers: a remote autocomplete instead of every user on the log form."""

from __future__ import annotations

from tests.support.http import csrf_token, post_form

NEW = "/interactions/new"


def test_people_search_lists_active_writers_only(client, db, make, login_as):
    me = make.make_user(name="Mina Me")
    make.make_user(name="Mina Colleague")
    make.make_user(name="Mina Viewer", role="viewer")
    make.make_user(name="Mina Gone", active=False)
    make.make_user(name="Other Person")
    db.session.commit()
    assert client.get("/interactions/people?q=mina").status_code in (302, 401)
    login_as(me)
    names = [i["name"] for i in client.get("/interactions/people?q=MINA").get_json()["items"]]
    assert names == ["Mina Colleague", "Mina Me"]
    others = client.get("/interactions/people/others?q=mina").get_json()["items"]
    assert [i["name"] for i in others] == ["Mina Colleague"]
    assert client.get("/interactions/people?q=%25").get_json()["items"] == []  # LIKE escaped


def test_people_search_is_limited_to_20(client, db, make, login_as):
    me = make.make_user(name="Zed")
    for n in range(25):
        make.make_user(name=f"Ana {n:02d}")
    db.session.commit()
    login_as(me)
    assert len(client.get("/interactions/people?q=ana").get_json()["items"]) == 20


def test_log_form_offers_only_chosen_people(client, db, make, login_as):
    me = make.make_user(name="Logging Lee")
    make.make_user(name="Unchosen Una")
    partner = make.make_partner(owner=me)
    db.session.commit()
    login_as(me)
    page = client.get(f"{NEW}?partner_id={partner.id}").get_data(as_text=True)
    assert "Unchosen Una" not in page
    assert f'<option selected value="{me.id}">Logging Lee</option>' in page
    assert 'data-remote="/interactions/people/others"' in page
    assert 'data-remote="/interactions/people"' in page


def test_log_post_rerender_names_the_chosen_people(client, db, make, login_as):
    me = make.make_user()
    carla = make.make_user(name="Chosen Carla")
    make.make_user(name="Unchosen Una")
    partner = make.make_partner(owner=me)
    db.session.commit()
    login_as(me)
    response = post_form(client, NEW, {
        "partner_id": str(partner.id), "kind": "meeting", "occurred_at": "2026-01-05T10:00",
        "summary": "", "staff_ids": str(carla.id)}, token_from=NEW)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'<option selected value="{carla.id}">Chosen Carla</option>' in body
    assert "Unchosen Una" not in body


def test_unknown_staff_id_refused_beside_the_field(client, db, make, login_as):
    me = make.make_user()
    partner = make.make_partner(owner=me)
    db.session.commit()
    login_as(me)
    response = post_form(client, NEW, {
        "partner_id": str(partner.id), "kind": "meeting", "occurred_at": "2026-01-05T10:00",
        "summary": "Met", "staff_ids": "999999"}, token_from=NEW)
    assert response.status_code == 422
    assert "Choose active colleagues" in response.get_data(as_text=True)


def test_people_search_gives_viewers_no_directory_and_matches_names_only(client, db, make,
                                                                        login_as):
    viewer = make.make_user("viewer", name="Vera Viewer")
    make.make_user(name="Mina Colleague", email="mina.colleague@example.org")
    db.session.commit()
    login_as(viewer)
    for url in ("/interactions/people?q=mina", "/interactions/people/others?q=",
                "/interactions/people"):
        response = client.get(url)
        assert response.status_code == 200 and response.get_json() == {"items": []}, url
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login_as(make.make_user(name="Sam Staff"))
    assert [i["name"] for i in client.get("/interactions/people?q=mina").get_json()["items"]
            ] == ["Mina Colleague"]
    # an email fragment finds nobody: the picker cannot confirm an address
    assert client.get("/interactions/people?q=colleague@").get_json()["items"] == []
