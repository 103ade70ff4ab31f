"""The contact page: details, badges, lawful basis, the interactions they attended that the
reader may see (newest first, paginated), their open follow-ups; 404 for a contact the
reader may not see; the personal-data panel for administrators only."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta

import pytest

from crm.lib import timeutil

PANEL = "contacts/_personal_data_panel.html"


@contextmanager
def rendered_templates(app, monkeypatch):
    """The names of the templates loaded while rendering, includes too (an include fires no
    `template_rendered` signal, so the environment's loading calls are watched)."""
    names: list[str] = []
    env = app.jinja_env
    for method in ("get_template", "get_or_select_template"):
        original = getattr(env, method)

        def watched(name, *args, _original=original, **kwargs):
            names.append(name if isinstance(name, str) else str(name))
            return _original(name, *args, **kwargs)

        monkeypatch.setattr(env, method, watched)
    yield names


@pytest.fixture
def scene(db, make):
    """A restricted partner owned by `owner`, a contact who attended a standard-for-them
    restricted meeting and a confidential one, with a follow-up from each."""
    owner, colleague = make.make_user(name="Olu Owner"), make.make_user(name="Cleo Colleague")
    partner = make.make_partner(owner, name="Mekong Child Safety Network",
                                sensitivity="restricted", collaborators=[colleague])
    contact = make.make_contact(
        partner, name="Somchai Srisuk", title="Hotline lead", email="somchai@example.net",
        phone="+66 2 123 4567", language="th", notes="Prefers calls in the morning",
        do_not_contact=True, lawful_basis="legitimate_interests",
        lawful_basis_note="Partnership contact since 2019", lawful_basis_on=date(2024, 3, 5))
    other = make.make_contact(partner, name="Other Person")
    now = timeutil.now_utc()
    seen = make.make_interaction(partner, owner, summary="Hotline training plan",
                                 occurred_at=now - timedelta(days=3), contacts=[contact])
    older = make.make_interaction(partner, owner, summary="First meeting",
                                  occurred_at=now - timedelta(days=30), contacts=[contact])
    secret = make.make_interaction(partner, owner, summary="Confidential case review",
                                   sensitivity="confidential",
                                   occurred_at=now - timedelta(days=1), contacts=[contact])
    make.make_interaction(partner, owner, summary="Without them",
                          occurred_at=now - timedelta(days=2), contacts=[other])
    make.make_follow_up(partner, owner, title="Send the training deck", interaction=seen)
    make.make_follow_up(partner, owner, title="Done already", interaction=seen, status="done")
    make.make_follow_up(partner, owner, title="Secret task", interaction=secret)
    db.session.commit()
    return {"owner": owner, "colleague": colleague, "partner": partner, "contact": contact, "other": other,
            "seen": seen, "older": older, "secret": secret}


def test_owner_sees_everything_about_the_contact(app, client, login_as, scene, monkeypatch):
    login_as(scene["owner"])
    contact = scene["contact"]
    with rendered_templates(app, monkeypatch) as names:
        response = client.get(f"/contacts/{contact.id}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    for text in ("Somchai Srisuk", "Hotline lead", "somchai@example.net", "+66 2 123 4567",
                 "Thai", "Prefers calls in the morning", "Do not contact",
                 "Legitimate interests", "05 Mar 2024", "Partnership contact since 2019",
                 "Mekong Child Safety Network", "Send the training deck",
                 "Confidential case review", "Secret task"):
        assert text in body, text
    assert 'data-badge="do-not-contact"' in body
    assert f'href="/partners/{scene["partner"].id}"' in body
    assert f'href="/partners/{scene["partner"].id}#interaction-{scene["seen"].id}"' in body
    # newest first; a meeting they did not attend and a done follow-up are not listed
    assert body.index("Confidential case review") < body.index("Hotline training plan") \
        < body.index("First meeting")
    assert "Without them" not in body and "Done already" not in body
    assert PANEL not in names  # administrators only


def test_collaborator_sees_the_page_without_confidential_interactions(client, login_as, scene):
    login_as(scene["colleague"])
    body = client.get(f"/contacts/{scene['contact'].id}").get_data(as_text=True)
    assert "Somchai Srisuk" in body and "Hotline training plan" in body
    assert "Send the training deck" in body
    assert "Confidential case review" not in body and "Secret task" not in body
    assert "Interactions attended <span class=\"text-body-secondary\">(2)" in body


def test_admin_page_includes_the_personal_data_panel(app, client, make, login_as, scene,
                                                     monkeypatch):
    login_as(make.make_user("admin"))
    with rendered_templates(app, monkeypatch) as names:
        response = client.get(f"/contacts/{scene['contact'].id}")
    assert response.status_code == 200
    assert PANEL in names
    assert "Confidential case review" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["staff", "viewer", "manager_elsewhere"])
def test_a_contact_the_reader_may_not_see_is_404(client, make, login_as, scene, role):
    reader = (make.make_user("manager", region_scope="Europe") if role == "manager_elsewhere"
              else make.make_user(role))
    login_as(reader)
    assert client.get(f"/contacts/{scene['contact'].id}").status_code == 404
    assert client.get("/contacts/999999").status_code == 404
    assert client.get("/contacts/99999999999999999999").status_code == 404


def test_a_contact_stricter_than_its_partner_is_404(client, db, make, login_as):
    owner, staff = make.make_user(), make.make_user()
    partner = make.make_partner(owner, name="Open Partner")
    hidden = make.make_contact(partner, name="Hidden Person", sensitivity="confidential")
    shown = make.make_contact(partner, name="Shown Person")
    db.session.commit()
    login_as(staff)
    assert client.get(f"/contacts/{hidden.id}").status_code == 404
    body = client.get(f"/contacts/{shown.id}").get_data(as_text=True)
    assert "Shown Person" in body and "Hidden Person" not in body


def test_viewer_reads_a_standard_contact_without_write_links(client, db, make, login_as):
    owner, viewer = make.make_user(), make.make_user("viewer")
    partner = make.make_partner(owner)
    contact = make.make_contact(partner, name="Plain Person")
    make.make_interaction(partner, owner, summary="Standard chat", contacts=[contact])
    db.session.commit()
    login_as(viewer)
    body = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Plain Person" in body and "Standard chat" in body
    assert f"/contacts/{contact.id}/edit" not in body and "/interactions/new" not in body
    assert "No lawful basis recorded" in body


def test_interactions_are_paginated(client, db, make, login_as):
    owner = make.make_user()
    partner = make.make_partner(owner)
    contact = make.make_contact(partner)
    now = timeutil.now_utc()
    for i in range(30):
        make.make_interaction(partner, owner, summary=f"Meeting number {i:02d}",
                              occurred_at=now - timedelta(days=i + 1), contacts=[contact])
    db.session.commit()
    login_as(owner)
    first = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Meeting number 00" in first and "Meeting number 24" in first
    assert "Meeting number 25" not in first and "Page 1 of 2" in first
    second = client.get(f"/contacts/{contact.id}?page=2").get_data(as_text=True)
    assert "Meeting number 25" in second and "Meeting number 29" in second
    assert "Meeting number 24" not in second
    assert client.get(f"/contacts/{contact.id}?page=abc").status_code == 200
    assert client.get(f"/contacts/{contact.id}?page=99").status_code == 200


def test_contact_names_link_to_the_contact_page(client, db, make, login_as):
    owner = make.make_user()
    partner = make.make_partner(owner)
    contact = make.make_contact(partner, name="Linked Person", do_not_contact=True)
    make.make_interaction(partner, owner, contacts=[contact])
    db.session.commit()
    login_as(owner)
    body = client.get(f"/partners/{partner.id}").get_data(as_text=True)
    # the contacts list and the timeline's attendees both link to the page
    assert body.count(f'href="/contacts/{contact.id}"') == 2
    assert 'data-badge="do-not-contact"' in body


def test_sensitive_contact_view_is_audited(client, db, make, login_as, scene):
    from sqlalchemy import select

    from crm.models import AuditEvent

    login_as(scene["owner"])
    client.get(f"/contacts/{scene['contact'].id}")
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "contact")).all()
    assert "contact.view" in actions
