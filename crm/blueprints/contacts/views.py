"""Contacts: the contact page, add at a partner, edit. Thin views over crm.services.contacts."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from crm.blueprints.decorators import writer_required
from crm.blueprints.formflow import save_form
from crm.extensions import db
from crm.forms.contacts import ContactForm
from crm.lib import timeutil
from crm.models import Contact, Partner
from crm.services import access, audit, contacts

bp = Blueprint("contacts", __name__)

#: interactions per page on a contact page
PER_PAGE = 25


@bp.get("/contacts/<int:contact_id>")
@login_required
def show(contact_id: int):
    """A contact's details and the interactions they attended that I may read."""
    contact = access.get_visible(current_user, Contact, contact_id, joinedload(Contact.partner))
    page = db.paginate(contacts.attended_interactions(current_user, contact),
                       per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False)
    follow_ups = contacts.open_follow_ups(current_user, contact)
    if contact.sensitivity != "standard":
        audit.record("contact.view", actor=current_user, object_type="contact",
                     object_id=contact.id, details={"sensitivity": contact.sensitivity})
    return render_template("contacts/show.html", contact=contact, partner=contact.partner,
                           page=page, follow_ups=follow_ups, now=timeutil.now_utc(),
                           language=contacts.language_name(contact.language))


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
    if contact.erased_at is not None:
        flash(contacts.ERASED_REFUSAL, "warning")
        return redirect(url_for("contacts.show", contact_id=contact.id))
    partner = contact.partner
    form = ContactForm(obj=contact)
    form.set_choices()
    saved, _, status = save_form(
        form, lambda: contacts.update_contact(current_user, contact, form.service_data()))
    if saved:
        flash("Contact saved.", "success")
        return redirect(url_for("contacts.show", contact_id=contact.id))
    return render_template("contacts/form.html", form=form, partner=partner, contact=contact), \
        status
