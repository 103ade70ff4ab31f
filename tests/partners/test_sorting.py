"""Sorting the partner list by every column people see, and country lists in reading order."""

from __future__ import annotations

import re

import pytest

from crm.forms.partners import PartnerForm
from crm.lib import countries
from crm.services import partners


@pytest.fixture
def world(db, make):
    zoe = make.make_user(name="zoë Zimmer")
    adam = make.make_user(name="Adam Ames")
    make.make_partner(zoe, name="Beta", sector="travel_tourism", country="CI")   # Côte d'Ivoire
    make.make_partner(adam, name="Alpha", sector="academia", country="CZ")       # Czechia
    make.make_partner(None, name="Gamma", sector="law_enforcement", country="AX")  # Åland
    make.make_partner(adam, name="Delta", sector="travel_tourism", country="AF")  # Afghanistan
    make.make_partner(zoe, name="Epsilon", sector="civil_society", country="HR")  # Croatia
    db.session.commit()
    return make.make_user("admin")


def _names(db, user, sort):
    return [p.name for p in db.session.scalars(partners.partner_query(user, {"sort": sort}))]


@pytest.mark.parametrize(("sort", "expected"), [
    # by label: Academia, Civil society, Law enforcement, Travel and tourism (ties by name)
    ("sector", ["Alpha", "Epsilon", "Gamma", "Beta", "Delta"]),
    ("-sector", ["Beta", "Delta", "Gamma", "Epsilon", "Alpha"]),
    # by country name, accents ignored: Afghanistan, Åland, Côte d'Ivoire, Croatia, Czechia
    ("country", ["Delta", "Gamma", "Beta", "Epsilon", "Alpha"]),
    ("-country", ["Alpha", "Epsilon", "Beta", "Gamma", "Delta"]),
    # by owner's name, case ignored; no owner last either way
    ("owner", ["Alpha", "Delta", "Beta", "Epsilon", "Gamma"]),
    ("-owner", ["Beta", "Epsilon", "Alpha", "Delta", "Gamma"]),
    ("name", ["Alpha", "Beta", "Delta", "Epsilon", "Gamma"]),
])
def test_partner_query_sorts_by_each_column_with_name_as_tie_break(db, world, sort, expected):
    assert _names(db, world, sort) == expected


def test_the_list_has_sortable_headers_for_every_column(client, world, login_as):
    login_as(world)
    body = client.get("/partners/?sort=country").get_data(as_text=True)
    for column in ("name", "sector", "country", "stage", "owner", "last_interaction"):
        assert re.search(rf'href="/partners/\?sort=-?{column}"', body), column
    assert 'aria-sort="ascending"' in body
    assert body.index(">Delta<") < body.index(">Gamma<") < body.index(">Beta<") \
        < body.index(">Epsilon<") < body.index(">Alpha<")
    assert client.get("/partners/?sort=-owner").status_code == 200


def test_country_lists_sort_accents_as_their_letters(app):
    names = [name for _code, name in countries.country_choices()]
    assert names.index("Afghanistan") < names.index("Åland Islands") < names.index("Albania")
    assert names.index("Costa Rica") < names.index("Côte d'Ivoire") < names.index("Croatia") \
        < names.index("Czechia")
    assert names[-1] != "Åland Islands"
    rank = countries.name_rank()
    assert rank["AF"] < rank["AX"] < rank["AL"] and rank["CI"] < rank["HR"] < rank["CZ"]


def test_the_partner_form_and_the_filter_list_countries_in_that_order(app, client, world,
                                                                      login_as):
    with app.test_request_context():
        form = PartnerForm()
        form.set_choices([])
        labels = [text for _value, text in form.country.choices[1:]]
    assert labels.index("Côte d'Ivoire") < labels.index("Czechia")
    assert labels.index("Åland Islands") < labels.index("Albania")
    login_as(world)
    body = client.get("/partners/").get_data(as_text=True)
    assert body.index('value="CI"') < body.index('value="HR"') < body.index('value="CZ"')
    assert body.index('value="AX"') < body.index('value="AL"')
