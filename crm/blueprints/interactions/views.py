"""Log an interaction fast (global button, shortcut L) and edit one. Thin: parse, call, render."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from crm.blueprints.decorators import writer_required
from crm.blueprints.formflow import call_service
from crm.extensions import db
from crm.forms.errors import show_service_errors
from crm.forms.interactions import NOW, WHEN_FORMAT, EditInteractionForm, LogInteractionForm
from crm.lib import timeutil
from crm.models import Interaction, Partner
from crm.services import access, audit, followups, idempotency, interactions
from crm.services.accounts import directory as people
from crm.services.errors import ValidationError

bp = Blueprint("interactions", __name__)


def _sensitivity_context(partner: Partner | None) -> dict:
    """The floor (partner's sensitivity) and the default offered for a new interaction."""
    if partner is None:
        return {"floor": "standard", "default_sensitivity": None}
    return {"floor": partner.sensitivity,
            "default_sensitivity": access.default_interaction_sensitivity(partner)}


@bp.app_template_global("partner_page_url")
def partner_page_url(partner_id: int) -> str:
    """The partner page (templates and the interaction and follow-up views link to it)."""
    return url_for("partners.show", partner_id=partner_id)


def _load_partner(raw) -> Partner | None:
    """The chosen partner, or None when nothing was chosen; 404 when it is not visible."""
    if raw in (None, ""):
        return None
    return access.get_visible(current_user, Partner, raw)


def _fill_partner_choices(form: LogInteractionForm, partner: Partner | None) -> None:
    """Only the chosen partner: the others come from the partner autocomplete."""
    chosen = [(partner.id, partner.name)] if partner else []
    form.partner_id.choices = [("", "Choose a partner…"), *chosen]


#: the label suffix of a contact who asked not to be contacted
DO_NOT_CONTACT = " (do not contact)"


def _fill_contacts(form, partner: Partner | None, linked_contacts=()) -> None:
    """Choices: the partner's contacts (plus archived ones already linked), a contact who
    asked not to be contacted labelled so; `form.do_not_contact` maps their ids to names
    (the template warns when one is chosen)."""
    contacts = (interactions.contact_choices(current_user, partner, linked_contacts)
                if partner else [])
    form.contact_ids.choices = [
        (c.id, c.name + (f" — {c.title}" if c.title else "")
         + (DO_NOT_CONTACT if c.do_not_contact else "")) for c in contacts]
    form.do_not_contact = {c.id: c.name for c in contacts if c.do_not_contact}


def _warn_do_not_contact(form, already: Iterable[int] = ()) -> None:
    """Flash the names of the chosen contacts (other than those `already` linked) who asked
    not to be contacted: logging is not refused (they may have called us), only flagged."""
    chosen = set(form.contact_ids.data or []) - set(already)
    names = [name for cid, name in form.do_not_contact.items() if cid in chosen]
    if names:
        flash(f"Note: {', '.join(names)} asked not to be contacted. Make sure the contact "
              "was theirs to make, or was needed.", "warning")


def _remote(field, endpoint: str, placeholder: str) -> None:
    """Turn a people select into a remote autocomplete (static/js/app.js, data-remote)."""
    field.render_kw = {"aria-label": field.label.text, **(field.render_kw or {}),
                       "data-searchable": "",
                       "data-remote": url_for(endpoint), "placeholder": placeholder}


def _fill_colleagues(form) -> None:
    """Options: only the colleagues already chosen, named in one query (none when nothing
    is chosen but me); the rest come from the autocomplete, and the service re-checks all."""
    staff = list(form.staff_ids.data or [])
    assignee_field = getattr(form, "follow_up_assignee_id", None)
    assignee = assignee_field.data if assignee_field is not None else None
    if not staff and assignee in (None, current_user.id):
        names = [(current_user.id, current_user.name)]
    else:
        names = people.named([*staff, assignee])
    form.staff_ids.choices = [(i, n) for i, n in names if i in staff]
    logging = assignee_field is not None  # when logging, I am implied: not offered as "other"
    _remote(form.staff_ids,
            "interactions.other_people" if logging else "interactions.people_search",
            "Type a colleague's name…")
    if logging:
        assignee_field.choices = [(i, n) for i, n in names if i == assignee]
        _remote(assignee_field, "interactions.people_search", "Type a name…")


def _service_data(form) -> dict:
    return {
        "kind": form.kind.data,
        "occurred_at": form.occurred_at.value,
        "summary": form.summary.data,
        "outcome": form.outcome.data,
        "contact_ids": form.contact_ids.data or [],
        "staff_ids": form.staff_ids.data or [],
        "sensitivity": form.sensitivity.data,
    }


def _follow_up_data(form: LogInteractionForm) -> dict | None:
    due = form.follow_up_due.value
    typed = (form.follow_up_title.data or "") + (form.follow_up_due.data or "")
    if not typed.strip():
        return None  # nothing typed in the follow-up part: no follow-up
    return {
        "title": form.follow_up_title.data,
        "due_at": followups.local_due(due, current_user.timezone) if due else None,
        "assignee_id": form.follow_up_assignee_id.data,
    }


def _save(form, save: Callable[[], Any], check: Callable[[], Any] | None):
    """`save_form`, showing every problem in one round: when the form's own checks fail,
    the service's `check` (which writes nothing) adds its messages for the other fields."""
    if not form.is_submitted():
        return False, None, 200
    if form.validate():
        return call_service(form, save)
    if check is not None and not form.csrf_token.errors:
        try:
            check()
        except ValidationError as exc:
            rename = getattr(form, "FIELD_FOR_ERROR", {})
            show_service_errors(form, {
                key: message for key, message in exc.fields.items()
                if not (rename.get(key, key) in form and form[rename.get(key, key)].errors)})
    return False, None, 422


def _entry_url(interaction: Interaction) -> str:
    """The partner page, scrolled to (and highlighting) the entry just saved."""
    return f"{partner_page_url(interaction.partner_id)}#interaction-{interaction.id}"


def _claim_form_key(form: LogInteractionForm, partner: Partner | None):
    """Claim the posted one-time form key → (the claimed row or None, a response or None).

    A resubmitted form (a double-click, Back and send again) answers the first submission's
    redirect with "Already saved"; a form without a usable key is simply not deduplicated.
    """
    try:
        key = idempotency.check_key(form.form_key.data or "")
    except idempotency.InvalidKey:
        return None, None
    try:
        claimed = idempotency.claim(
            current_user.id, None, key, idempotency.fingerprint("POST", request.path, None),
            lock_timeout_ms=current_app.config["IDEMPOTENCY_WAIT_MS"])
    except idempotency.InProgress:
        flash("Your first click is still being saved: look at the partner's timeline "
              "before you send it again.", "warning")
        return None, redirect(partner_page_url(partner.id) if partner
                              else url_for("interactions.new"))
    if isinstance(claimed, idempotency.Answer):
        flash("Already saved: this interaction was logged once, when you first sent the form.",
              "info")
        return None, redirect(claimed.headers["Location"])
    return claimed, None


@bp.route("/new", methods=["GET", "POST"])
@writer_required
def new():
    """The quick-log form: partner, kind, when, summary, people, sensitivity, follow-up."""
    form = LogInteractionForm(tz=current_user.timezone)
    raw_partner = (request.form.get("partner_id") if request.method == "POST"
                   else request.args.get("partner_id"))
    partner = _load_partner(raw_partner)
    _fill_partner_choices(form, partner)
    _fill_contacts(form, partner)
    if request.method == "GET":
        form.partner_id.data = partner.id if partner else None
        form.occurred_at.data = NOW
        form.follow_up_assignee_id.data = current_user.id
        # `?contact_id=` (the contact page's button) ticks that contact, if it is offered
        wanted = set(request.args.getlist("contact_id", type=int))
        form.contact_ids.data = [cid for cid, _ in form.contact_ids.choices if cid in wanted]
    claimed = None
    if form.is_submitted():
        claimed, earlier = _claim_form_key(form, partner)
        if earlier is not None:
            return earlier
    if not form.form_key.data:
        form.form_key.data = idempotency.new_form_key()
    saved, interaction, status = _save(
        form, lambda: interactions.log_interaction(
            current_user, partner, _service_data(form), _follow_up_data(form)),
        partner and (lambda: interactions.check_log(
            current_user, partner, _service_data(form), _follow_up_data(form))))
    if saved:
        flash(f"Interaction with {partner.name} saved.", "success")
        _warn_do_not_contact(form)
        if claimed is not None:
            idempotency.record(claimed, 302, "", {"Location": _entry_url(interaction)})
        return redirect(_entry_url(interaction))
    _fill_colleagues(form)
    return render_template(
        "interactions/new.html", form=form, partner=partner,
        autocomplete_url=url_for("partners.autocomplete"), **_sensitivity_context(partner),
    ), status


@bp.get("/partner-fields")
@writer_required
def partner_fields():
    """htmx: the contacts and sensitivity for the partner just picked."""
    partner = _load_partner(request.args.get("partner_id"))
    form = LogInteractionForm(formdata=None)
    _fill_contacts(form, partner)
    return render_template("interactions/_partner_fields.html", form=form, partner=partner,
                           **_sensitivity_context(partner))


def _int_or_400(value: str | None) -> int | None:
    try:
        return int(value or 0) or None
    except ValueError:
        abort(400)


@bp.route("/<int:id>/edit", methods=["GET", "POST"])
@writer_required
def edit(id: int):
    interaction = access.get_visible(current_user, Interaction, id)
    partner = db.session.get(Partner, interaction.partner_id)
    form = EditInteractionForm(obj=None if request.method == "POST" else interaction,
                               tz=current_user.timezone)
    contact_ids, staff_ids = interactions.linked_ids(interaction)
    _fill_contacts(form, partner, contact_ids)
    if request.method == "GET":
        form.contact_ids.data = contact_ids
        form.staff_ids.data = staff_ids
        form.occurred_at.data = timeutil.to_local(
            interaction.occurred_at, current_user.timezone).strftime(WHEN_FORMAT)
        form.version.data = str(interaction.version)
        if interaction.sensitivity != "standard":
            audit.record("interaction.view", actor=current_user, object_type="interaction",
                         object_id=interaction.id, details={"sensitivity": interaction.sensitivity})
    saved, _, status = _save(
        form, lambda: interactions.update_interaction(
            current_user, interaction, _service_data(form),
            expected_version=_int_or_400(form.version.data)),
        lambda: interactions.check_update(current_user, interaction, _service_data(form)))
    if saved:
        flash("Interaction updated.", "success")
        _warn_do_not_contact(form, already=contact_ids)
        return redirect(_entry_url(interaction))
    _fill_colleagues(form)
    return render_template("interactions/edit.html", form=form, interaction=interaction,
                           partner=partner, floor=partner.sensitivity,
                           default_sensitivity=None), status


@bp.get("/people", defaults={"others": False})
@bp.get("/people/others", defaults={"others": True}, endpoint="other_people")
@login_required
def people_search(others: bool):
    """JSON for the people pickers: active, non-viewer users matching `q` by name (20 at
    most; viewers get an empty list: no staff directory); `/people/others` leaves me out
    (I am implied as present when I log)."""
    rows = people.search(current_user, request.args.get("q") or "",
                         exclude_id=current_user.id if others else None)
    return jsonify({"items": [{"id": i, "name": n} for i, n in rows]})
