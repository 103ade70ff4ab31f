"""Contacts: add at a partner, edit. Thin views over crm.services.contacts."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from crm.blueprints.decorators import writer_required
from crm.blueprints.formflow import save_form
from crm.forms.contacts import ContactForm
from crm.models import Contact, Partner
from crm.services import access, contacts

bp = Blueprint("contacts", __name__)


@bp.route("/partners/<int:partner_id>/contacts/new", methods=["GET", "POST"])
@writer_required
def new(partner_id: int):
    partner = access.get_visible(current_user, Partner, partner_id)
    form = ContactForm()
    form.set_choices()
    if request.method == "GET":
        form.sensitivity.data = partner.sensitivity
    saved, _, status = save_form(
        form, lambda: contacts.create_contact(current_user, partner, form.service_data()))
    if saved:
        flash("Contact added.", "success")
        return redirect(url_for("partners.show", partner_id=partner_id))
    return render_template("contacts/form.html", form=form, partner=partner, contact=None), \
        status


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@writer_required
def edit(contact_id: int):
    contact = access.get_visible(current_user, Contact, contact_id, joinedload(Contact.partner))
    partner = contact.partner
    form = ContactForm(obj=contact)
    form.set_choices()
    saved, _, status = save_form(
        form, lambda: contacts.update_contact(current_user, contact, form.service_data()))
    if saved:
        flash("Contact saved.", "success")
        return redirect(url_for("partners.show", partner_id=partner.id))
    return render_template("contacts/form.html", form=form, partner=partner, contact=contact), \
        status
