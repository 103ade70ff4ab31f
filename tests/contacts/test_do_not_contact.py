"""Do-not-contact on the log form: the contact is labelled in the choices (and in the htmx
fragment), a note follows its box, and a submit that includes them warns (after saving, and
on a form shown again); logging is never refused for it."""

from __future__ import annotations

from html import unescape

from sqlalchemy import select

from crm.models import Interaction
from tests.support.http import post_form

NEW = "/interactions/new"


def _world(db, make):
    user = make.make_user()
    partner = make.make_partner(user)
    quiet = make.make_contact(partner, name="Quiet Person", title="Advocate",
                              do_not_contact=True)
    open_ = make.make_contact(partner, name="Open Person")
    db.session.commit()
    return user, partner, quiet, open_


def _form(partner, contacts, **kw):
    return {"partner_id": str(partner.id), "kind": "call", "occurred_at": "now",
            "summary": "Talked about the hotline", "outcome": "", "sensitivity": "",
            "contact_ids": [str(c.id) for c in contacts], **kw}


def test_choices_label_do_not_contact(client, db, make, login_as):
    user, partner, quiet, open_ = _world(db, make)
    login_as(user)
    for path in (f"{NEW}?partner_id={partner.id}",
                 f"/interactions/partner-fields?partner_id={partner.id}"):
        body = unescape(client.get(path).get_data(as_text=True))
        assert "Quiet Person — Advocate (do not contact)" in body, path
        assert "Open Person (do not contact)" not in body
        assert f'id="contact-{quiet.id}-dnc"' in body  # the note shown once ticked
        assert f'id="contact-{open_.id}-dnc"' not in body
        assert 'id="do-not-contact-warning"' not in body  # nothing chosen yet


def test_saving_with_such_a_contact_warns(client, db, make, login_as):
    user, partner, quiet, open_ = _world(db, make)
    login_as(user)
    response = post_form(client, NEW, _form(partner, [quiet, open_]), token_from=NEW,
                         follow_redirects=True)
    assert response.status_code == 200
    body = unescape(response.get_data(as_text=True))
    assert "Quiet Person asked not to be contacted" in body
    assert "Open Person asked not to be contacted" not in body
    saved = db.session.scalars(select(Interaction)).one()
    assert saved.summary == "Talked about the hotline"  # logged, not refused


def test_saving_without_such_a_contact_does_not_warn(client, db, make, login_as):
    user, partner, _quiet, open_ = _world(db, make)
    login_as(user)
    response = post_form(client, NEW, _form(partner, [open_]), token_from=NEW,
                         follow_redirects=True)
    assert "asked not to be contacted" not in response.get_data(as_text=True)


def test_a_form_shown_again_warns(client, db, make, login_as):
    user, partner, quiet, _open = _world(db, make)
    login_as(user)
    response = post_form(client, NEW, _form(partner, [quiet], summary=""), token_from=NEW)
    assert response.status_code == 422
    body = unescape(response.get_data(as_text=True))
    assert 'id="do-not-contact-warning"' in body
    assert "Asked not to be contacted: Quiet Person." in body
    assert db.session.scalars(select(Interaction)).first() is None


def test_editing_warns_only_about_newly_added(client, db, make, login_as):
    user, partner, quiet, open_ = _world(db, make)
    interaction = make.make_interaction(partner, user, contacts=[quiet])
    db.session.commit()
    login_as(user)
    path = f"/interactions/{interaction.id}/edit"
    page = unescape(client.get(path).get_data(as_text=True))
    assert "Asked not to be contacted: Quiet Person." in page  # already there: said on the page
    data = {"kind": "call", "occurred_at": "2026-01-02 10:00", "summary": "Edited",
            "outcome": "", "sensitivity": "standard", "version": "1",
            "contact_ids": [str(quiet.id), str(open_.id)]}
    response = post_form(client, path, data, token_from=path, follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "Interaction updated" in body and "asked not to be contacted" not in body


def test_the_contact_pages_button_ticks_the_contact(client, db, make, login_as):
    user, partner, quiet, open_ = _world(db, make)
    login_as(user)
    page = client.get(f"/contacts/{quiet.id}").get_data(as_text=True)
    link = f"/interactions/new?partner_id={partner.id}&amp;contact_id={quiet.id}"
    assert link in page
    body = unescape(client.get(unescape(link)).get_data(as_text=True))
    assert f'id="contact-{quiet.id}" checked' in body
    assert f'id="contact-{open_.id}" checked' not in body
    assert "Asked not to be contacted: Quiet Person." in body
    # a contact of another partner (or a hidden one) is never ticked, nor named
    other = make.make_contact(make.make_partner(user), name="Elsewhere Person")
    db.session.commit()
    body = client.get(f"/interactions/new?partner_id={partner.id}&contact_id={other.id}"
                      f"&contact_id=x").get_data(as_text=True)
    assert "checked" not in body.split('id="partner-fields"', 1)[1].split("</fieldset>")[0]
    assert "Elsewhere Person" not in body
