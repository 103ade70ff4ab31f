"""A contact's personal data on the web: export, erase, redact mentions (admins).

Thin views over crm.services.personal_data. A contact the user may not see is a 404
(crm.services.access); a user who may see it but is no admin gets 403 from the service.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from crm.forms.personal_data import EraseForm, RedactMentionForm
from crm.models import Contact
from crm.services import access
from crm.services.personal_data import erasure, export

from .views import bp


def json_download(document: dict[str, Any], filename: str) -> Response:
    """A JSON attachment called `filename` (never cached: it is one person's data)."""
    return Response(json.dumps(document, ensure_ascii=False, indent=2),
                    mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


def _load(contact_id: int) -> Contact:
    contact = access.get_visible(current_user, Contact, contact_id, joinedload(Contact.partner))
    erasure.ensure_admin(current_user)
    return contact


def contact_page(contact: Contact) -> str:
    """The contact's own page (the partner's page until it exists)."""
    if "contacts.show" in current_app.view_functions:
        return url_for("contacts.show", contact_id=contact.id)
    return url_for("partners.show", partner_id=contact.partner_id)


@bp.get("/contacts/<int:contact_id>/personal-data")
@login_required
def personal_data(contact_id: int):
    contact = _load(contact_id)
    document = export.export_contact(current_user, contact)
    return json_download(document, f"contact-{contact.id}-personal-data.json")


@bp.route("/contacts/<int:contact_id>/erase", methods=["GET", "POST"])
@login_required
def erase(contact_id: int):
    contact = _load(contact_id)
    if contact.erased_at is not None:
        if request.method == "POST":
            flash("This person was already erased; nothing changed.", "info")
            return redirect(contact_page(contact))
        return render_template("contacts/erase.html", contact=contact, form=None,
                               mentions=[], back=contact_page(contact))
    mentions = erasure.find_mentions(contact)
    form = EraseForm()
    form.mentions.choices = [(m.key, m.key) for m in mentions]
    if request.method == "GET":
        form.mentions.data = [m.key for m in mentions]
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            if form.confirms(contact.name):
                chosen = list(form.mentions.data or [])
                erasure.erase_contact(current_user, contact, redact_keys=chosen)
                flash(f"{contact.name}: the person's data was erased"
                      + (f" and {len(chosen)} mention{'s' if len(chosen) != 1 else ''} "
                         "redacted." if chosen else "."), "success")
                return redirect(contact_page(contact))
            form.confirmation.errors = [
                "That is not this person's name. Type it exactly as shown above."]
    return render_template("contacts/erase.html", contact=contact, form=form,
                           mentions=mentions, back=contact_page(contact)), status


@bp.post("/contacts/<int:contact_id>/mentions/redact")
@login_required
def redact_mention(contact_id: int):
    contact = _load(contact_id)
    form = RedactMentionForm()
    back = url_for("contacts.erase", contact_id=contact.id)
    if not form.validate_on_submit():
        flash("Choose a mention to redact.", "warning")
        return redirect(back)
    key = form.mention.data
    if key not in {m.key for m in erasure.find_mentions(contact)}:
        flash("That mention no longer names this person; nothing changed.", "info")
        return redirect(back)
    erasure.redact_mentions(current_user, contact, [key])
    flash("The mention was redacted.", "success")
    return redirect(back)
