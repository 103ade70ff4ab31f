"""Partner name search: every word, in any order, as a prefix or part of a word, accents and
case ignored — on the list and in the log form's partner autocomplete."""

from __future__ import annotations

import pytest

from crm.services import partners

NAMES = ("Hoteles Mexicana del Pacífico", "Mexicana de Aviación", "Grand Hotels Group",
         "Défense des Enfants – Sénégal", "50% Club Hoteles")


@pytest.fixture
def world(db, make):
    user = make.make_user()
    for name in NAMES:
        make.make_partner(user, name=name)
    make.make_partner(user, name="Hoteles Mexicana Archived", archived=True)
    db.session.commit()
    return user


@pytest.mark.parametrize(("q", "expected"), [
    ("Mexicana Hoteles", ["Hoteles Mexicana del Pacífico"]),
    ("hoteles mexicana", ["Hoteles Mexicana del Pacífico"]),
    ("MEXIC hot", ["Hoteles Mexicana del Pacífico"]),           # prefixes, any order
    ("pacifico  méxicana", ["Hoteles Mexicana del Pacífico"]),   # accents both ways
    ("otel", ["50% Club Hoteles", "Grand Hotels Group", "Hoteles Mexicana del Pacífico"]),
    ("senegal enfants", ["Défense des Enfants – Sénégal"]),
    ("hoteles 50%", ["50% Club Hoteles"]),
    ("hoteles %", ["50% Club Hoteles"]),                         # % is a character, not "any"
    ("mexicana hoteles aviacion", []),                           # every word must match
    ("mexicana mexicana", ["Hoteles Mexicana del Pacífico", "Mexicana de Aviación"]),
])
def test_list_query_matches_every_word_in_any_order(db, world, q, expected):
    found = sorted(p.name for p in db.session.scalars(partners.partner_query(world, {"q": q})))
    assert found == expected


def test_the_list_page_finds_words_in_any_order(client, world, login_as):
    login_as(world)
    body = client.get("/partners/?q=Mexicana+Hoteles").get_data(as_text=True)
    assert "1 partner" in body and "Hoteles Mexicana del Pacífico" in body
    assert "Mexicana de Aviación" not in body


def test_the_autocomplete_finds_words_in_any_order(client, world, login_as):
    login_as(world)
    items = client.get("/partners/autocomplete?q=Mexicana%20Hoteles").get_json()["items"]
    assert [i["name"] for i in items] == ["Hoteles Mexicana del Pacífico"]  # not the archived one
    items = client.get("/partners/autocomplete?q=hot%20PAC").get_json()["items"]
    assert [i["name"] for i in items] == ["Hoteles Mexicana del Pacífico"]
    items = client.get("/partners/autocomplete?q=%25%20club").get_json()["items"]
    assert [i["name"] for i in items] == ["50% Club Hoteles"]
