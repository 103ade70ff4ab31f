"""Agreements: the agreement page (details, signatories, reports received, renew, terminate,
The Code's criteria), new at a partner, edit, and the page's POST forms. Thin views over
crm.services.agreements; a refused POST re-renders the page with the message beside its
field (422)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from crm import uow
from crm.blueprints.decorators import writer_required
from crm.blueprints.formflow import call_service, save_form
from crm.extensions import db
from crm.forms.agreements import (
    AgreementForm,
    CriterionForm,
    RenewForm,
    ReportForm,
    TerminateForm,
)
from crm.forms.errors import show_service_errors
from crm.models import Agreement, Partner, User
from crm.models.enums import CODE_CRITERIA
from crm.services import access, agreements, audit, records
from crm.services.errors import ConflictError

bp = Blueprint("agreements", __name__)


def _get(agreement_id: int) -> Agreement:
    return access.get_visible(current_user, Agreement, agreement_id,
                              joinedload(Agreement.partner))


def _criterion_forms(agreement: Agreement) -> dict[int, CriterionForm]:
    forms = {}
    for criterion in agreement.criteria:
        form = CriterionForm(prefix=f"criterion{criterion.number}", formdata=None)
        form.status.data, form.note.data = criterion.status, criterion.note
        forms[criterion.number] = form
    return forms


def _page(agreement: Agreement, status: int = 200, **forms):
    """The agreement page; `forms` replaces the blank forms (a refused one, with errors)."""
    agreements.load_people([agreement])
    criterion_forms = _criterion_forms(agreement)
    if "criterion" in forms:
        number, form = forms.pop("criterion")
        criterion_forms[number] = form
    successor = predecessor = None
    if agreement.successor_id:
        successor = db.session.scalar(access.visible_agreements(current_user).where(
            Agreement.id == agreement.successor_id))
    predecessor = db.session.scalar(access.visible_agreements(current_user).where(
        Agreement.successor_id == agreement.id))
    names = {u.id: u.name for u in agreement.staff}
    updaters = {c.updated_by_id for c in agreement.criteria} - set(names) - {None}
    if updaters:
        names.update((i, n) for i, n in db.session.execute(
            db.select(User.id, User.name).where(User.id.in_(updaters))))
    if agreement.sensitivity != "standard" and request.method == "GET":
        audit.record("agreement.view", actor=current_user, object_type="agreement",
                     object_id=agreement.id, details={"sensitivity": agreement.sensitivity})
    return render_template(
        "agreements/show.html", agreement=agreement, partner=agreement.partner,
        signatories=agreements.visible_signatories(current_user, agreement),
        reports=agreements.reports(agreement), successor=successor, predecessor=predecessor,
        criteria_texts=CODE_CRITERIA, criterion_forms=criterion_forms, names=names,
        today=agreements.today_for(current_user),
        badges=agreements.badges(agreement, agreements.today_for(current_user)),
        report_form=forms.get("report_form") or ReportForm(formdata=None),
        renew_form=forms.get("renew_form") or RenewForm(formdata=None),
        terminate_form=forms.get("terminate_form") or TerminateForm(formdata=None),
        open_panel=forms.get("open_panel"),
    ), status


@bp.get("/agreements/<int:agreement_id>")
@login_required
def show(agreement_id: int):
    return _page(_get(agreement_id))


def _form(partner: Partner, agreement: Agreement | None) -> AgreementForm:
    form = AgreementForm(obj=agreement)
    form.set_choices(agreements.contact_choices(current_user, partner),
                     agreements.staff_choices(), agreement.status if agreement else None)
    if agreement is None:  # blank: the partner's, or restricted for a police MoU
        form.sensitivity.choices = [("", "Default (the partner’s; police MoUs restricted)"),
                                    *form.sensitivity.choices]
    return form


def _show_every_error(form: AgreementForm, partner: Partner,
                      agreement: Agreement | None) -> None:
    """The form's own checks failed: add the service's messages for the other fields, so
    every problem shows beside its field in one round."""
    if request.method != "POST":
        return
    problems = agreements.validation_errors(current_user, partner, form.service_data(),
                                            agreement=agreement)
    show_service_errors(form, {k: m for k, m in problems.items()
                               if not (k in form and form[k].errors)})


@bp.route("/partners/<int:partner_id>/agreements/new", methods=["GET", "POST"])
@writer_required
def new(partner_id: int):
    partner = access.get_visible(current_user, Partner, partner_id)
    form = _form(partner, None)
    if request.method == "GET":
        kind = request.args.get("kind")
        form.kind.data = kind if kind in dict(form.kind.choices) else "mou"
        form.status.data = "draft"
        form.renewal_notice_days.data = str(agreements.DEFAULT_NOTICE_DAYS)
        form.sensitivity.data = ""
    elif not form.validate_on_submit():
        _show_every_error(form, partner, None)
    else:
        saved, agreement, _ = call_service(
            form, lambda: agreements.create(current_user, partner, form.service_data()))
        if saved:
            flash(f"Agreement “{agreement.title}” added.", "success")
            return redirect(url_for("agreements.show", agreement_id=agreement.id))
    return render_template("agreements/form.html", form=form, partner=partner, agreement=None,
                           police=partner.sector == "law_enforcement"), \
        200 if request.method == "GET" else 422


@bp.route("/agreements/<int:agreement_id>/edit", methods=["GET", "POST"])
@writer_required
def edit(agreement_id: int):
    agreement = _get(agreement_id)
    partner = agreement.partner
    agreements.load_people([agreement])
    form = _form(partner, agreement)
    status = 200
    if request.method == "GET":
        form.contact_ids.data = [c.id for c in agreement.contacts]
        form.staff_ids.data = [u.id for u in agreement.staff]
        for key in ("signed_on", "starts_on", "expires_on"):
            value = getattr(agreement, key)
            form[key].data = value.isoformat() if value else ""
        form.renewal_notice_days.data = str(agreement.renewal_notice_days)
        form.reporting_every_months.data = str(agreement.reporting_every_months or "")
        form.version.data = str(agreement.version)
    elif not form.validate_on_submit():
        _show_every_error(form, partner, agreement)
        status = 422
    else:
        raw = form.version.data
        try:
            records.check_version(agreement, records.versions_named([str(raw)]) if raw else None)
        except ConflictError as exc:
            form.form_errors.append(f"{exc} Reload the page to see their changes.")
            status = 409
        else:
            saved, _, status = call_service(
                form, lambda: agreements.update(current_user, agreement, form.service_data()))
            if saved:
                flash("Agreement saved.", "success")
                return redirect(url_for("agreements.show", agreement_id=agreement.id))
    return render_template("agreements/form.html", form=form, partner=partner,
                           agreement=agreement, police=False), status


def _post(agreement: Agreement, form, save, name: str, done: str):
    """A page form's POST: saved → flash and back to the page; refused → the page again
    with the form's messages beside its fields (422), or a conflict flashed (409)."""
    saved, _, status = save_form(form, save)
    if saved:
        flash(done, "success")
        return redirect(url_for("agreements.show", agreement_id=agreement.id))
    uow.rollback()  # the page's queries must not autoflush half-done work
    return _page(_get(agreement.id), status, **{name: form, "open_panel": name})


@bp.post("/agreements/<int:agreement_id>/reports")
@writer_required
def record_report(agreement_id: int):
    agreement = _get(agreement_id)
    form = ReportForm()
    return _post(agreement, form,
                 lambda: agreements.record_report(current_user, agreement, form.service_data()),
                 "report_form", "Report recorded.")


@bp.post("/agreements/<int:agreement_id>/renew")
@writer_required
def renew(agreement_id: int):
    agreement = _get(agreement_id)
    form = RenewForm()
    saved, successor, status = save_form(
        form, lambda: agreements.renew(current_user, agreement, form.service_data()))
    if saved:
        flash("Agreement renewed: this is its successor.", "success")
        return redirect(url_for("agreements.show", agreement_id=successor.id))
    uow.rollback()
    return _page(_get(agreement_id), status, renew_form=form, open_panel="renew_form")


@bp.post("/agreements/<int:agreement_id>/terminate")
@writer_required
def terminate(agreement_id: int):
    agreement = _get(agreement_id)
    form = TerminateForm()
    return _post(agreement, form,
                 lambda: agreements.terminate(current_user, agreement,
                                              form.termination_reason.data,
                                              form.terminated_on.data),
                 "terminate_form", "Agreement terminated.")


@bp.post("/agreements/<int:agreement_id>/criteria/<int:number>")
@writer_required
def update_criterion(agreement_id: int, number: int):
    agreement = _get(agreement_id)
    form = CriterionForm(prefix=f"criterion{number}")
    saved, _, status = save_form(
        form, lambda: agreements.update_criterion(current_user, agreement, number,
                                                  form.status.data, form.note.data),
        fallback="status")
    if saved:
        flash(f"Criterion {number} saved.", "success")
        return redirect(url_for("agreements.show", agreement_id=agreement.id,
                                _anchor=f"criterion-{number}"))
    uow.rollback()
    agreement = _get(agreement_id)
    if agreement.kind != "the_code" or not 1 <= number <= len(CODE_CRITERIA):
        message = "; ".join(e for f in form for e in f.errors) or "Not a criterion."
        flash(message, "danger")
        return _page(agreement, status)
    return _page(agreement, status, criterion=(number, form))

