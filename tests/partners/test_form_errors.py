"""The partner form shows every error in one round, each beside its field, and saves nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from crm.models import Partner
from tests.support.http import post_form

GOOD = {"name": "Fundación Renacer", "sector": "civil_society", "country": "CO",
        "stage": "dialogue", "sensitivity": "standard", "website": "https://renacer.org",
        "email": "", "description": "", "tags": "osec, training", "owner_id": ""}


def _count(db):
    return db.session.scalar(select(func.count()).select_from(Partner))


def _error_beside(body: str, field: str) -> str:
    """The messages rendered beside the field `field` (`<div id="FIELD-error">`)."""
    found = re.findall(rf'id="{field}-error">(.*?)</div>', body, re.S)
    assert found, f"no message beside {field}"
    return " | ".join(m.strip() for m in found)


def test_no_country_and_a_bad_website_show_both_messages_at_once(client, db, make, login_as):
    login_as(make.make_user())
    response = post_form(client, "/partners/new",
                         dict(GOOD, country="", website="javascript:alert(1)"),
                         token_from="/partners/new")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose a country." in _error_beside(body, "country")
    assert "web address" in _error_beside(body, "website")
    assert _count(db) == 0


def test_form_and_service_errors_together_on_edit(client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(user, name="Keep")
    db.session.commit()
    login_as(user)
    page = f"/partners/{partner.id}/edit"
    response = post_form(client, page, dict(GOOD, name="", email="nope", tags="<b>x</b>",
                                            website="ftp://x.org", version=str(partner.version),
                                            owner_id=str(user.id)), token_from=page)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "required" in _error_beside(body, "name")
    assert "email" in _error_beside(body, "email").lower()
    assert "web address" in _error_beside(body, "website")
    assert "Tags use letters" in _error_beside(body, "tags")
    db.session.expire_all()
    assert db.session.get(Partner, partner.id).name == "Keep"


def test_a_duplicate_warning_comes_with_the_other_errors(client, db, make, login_as):
    user = make.make_user()
    make.make_partner(user, name="Fundación Renacer", country="CO")
    db.session.commit()
    login_as(user)
    response = post_form(client, "/partners/new", dict(GOOD, website="javascript:x"),
                         token_from="/partners/new")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "already exists" in body and "web address" in _error_beside(body, "website")
    assert _count(db) == 1


def test_one_message_per_field(client, db, make, login_as):
    login_as(make.make_user())
    response = post_form(client, "/partners/new", dict(GOOD, country="XX", name=""),
                         token_from="/partners/new")
    body = response.get_data(as_text=True)
    assert _error_beside(body, "country") == "Not a valid choice."
    assert body.count("This field is required") == 1
