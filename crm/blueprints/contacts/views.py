"""Contacts: add at a partner, edit. Thin views over crm.services.contacts."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from crm.blueprints.decorators import writer_required
from crm.extensions import db
from crm.forms.contacts import ContactForm
from crm.forms.partners import show_service_errors
from crm.models import Contact, Partner
from crm.services import access, contacts
from crm.services.errors import ValidationError

bp = Blueprint("contacts", __name__)


def _save(form: ContactForm, action) -> bool:
    """Validate the form, call the service, commit; field errors on failure."""
    if not form.validate_on_submit():
        return False
    try:
        action(form.service_data())
        db.session.commit()
    except ValidationError as exc:
        db.session.rollback()
        show_service_errors(form, exc.fields)
        return False
    return True


@bp.route("/partners/<int:partner_id>/contacts/new", methods=["GET", "POST"])
@writer_required
def new(partner_id: int):
    partner = access.get_visible(current_user, Partner, partner_id)
    form = ContactForm()
    form.set_choices()
    if request.method == "GET":
        form.sensitivity.data = partner.sensitivity
    if _save(form, lambda data: contacts.create_contact(current_user, partner, data)):
        flash("Contact added.", "success")
        return redirect(url_for("partners.show", partner_id=partner_id))
    return render_template("contacts/form.html", form=form, partner=partner, contact=None), \
        200 if request.method == "GET" else 422


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@writer_required
def edit(contact_id: int):
    contact = access.get_visible(current_user, Contact, contact_id, joinedload(Contact.partner))
    partner = contact.partner
    form = ContactForm(obj=contact)
    form.set_choices()
    if _save(form, lambda data: contacts.update_contact(current_user, contact, data)):
        flash("Contact saved.", "success")
        return redirect(url_for("partners.show", partner_id=partner.id))
    return render_template("contacts/form.html", form=form, partner=partner, contact=contact), \
        200 if request.method == "GET" else 422
