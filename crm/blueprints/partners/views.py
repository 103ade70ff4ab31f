"""Partners: list, autocomplete, page + timeline, create / edit / archive. Thin views."""

from __future__ import annotations

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
from sqlalchemy.orm import joinedload, selectinload

from crm.blueprints.decorators import writer_required
from crm.blueprints.formflow import call_service
from crm.extensions import db
from crm.forms.errors import show_service_errors
from crm.forms.partners import PartnerForm
from crm.lib import countries, timeutil
from crm.models import Contact, FollowUp, Partner
from crm.models.enums import HEALTH_STATES, SECTORS, STAGES, label
from crm.services import access, agreements, audit, engagement, partners, records, timeline
from crm.services.accounts import directory as people
from crm.services.errors import ConflictError, ValidationError

bp = Blueprint("partners", __name__)

PER_PAGE = 25


def _thresholds() -> engagement.Thresholds:
    return engagement.Thresholds.from_config(current_app.config)


def _get_partner(partner_id: int) -> Partner:
    return access.get_visible(current_user, Partner, partner_id,
                              joinedload(Partner.owner), selectinload(Partner.collaborators),
                              selectinload(Partner.tags))


# --- list ---------------------------------------------------------------------------------

@bp.get("/")
@login_required
def index():
    filters, errors = partners.clean_filters(request.args)
    thresholds, now = _thresholds(), timeutil.now_utc()
    stmt = partners.partner_query(current_user, filters, now=now, thresholds=thresholds)
    stmt = stmt.options(joinedload(Partner.owner), selectinload(Partner.tags))
    page = db.paginate(stmt, per_page=PER_PAGE, max_per_page=100, error_out=False)
    return render_template(
        "partners/index.html",
        page=page, filters=filters, errors=errors,
        filtered=any(key != "sort" for key in filters),
        health={p.id: engagement.assess(p, now, thresholds) for p in page.items},
        sector_options=[(s, label(s)) for s in SECTORS],
        stage_options=[(s, label(s)) for s in STAGES],
        health_options=[(s, label(s)) for s in HEALTH_STATES],
        region_options=[(r, r) for r in countries.regions()],
        # owner and tag are remote autocompletes: only the chosen value is rendered
        owner_options=[(str(i), n) for i, n in people.named(
            [int(filters["owner_id"])] if "owner_id" in filters else [], current_user)],
        tag_options=[(filters["tag"], filters["tag"])] if "tag" in filters else [],
        country_choices=countries.country_choices(),
        sort=filters.get("sort", "name"),
        args={k: v for k, v in request.args.items() if k != "page"},
    )


@bp.get("/autocomplete")
@login_required
def autocomplete():
    """JSON for the partner picker: visible, non-archived partners matching `q`."""
    q = (request.args.get("q") or "").strip()[:200]
    stmt = partners.partner_query(current_user, {"q": q} if q else {})
    rows = db.session.execute(stmt.with_only_columns(Partner.id, Partner.name).limit(20)).all()
    return jsonify({"items": [{"id": r.id, "name": r.name} for r in rows]})


@bp.get("/owners")
@login_required
def owners():
    """JSON for the owner filter: people who may own partners, matching `q` by name
    (viewers get an empty list: no staff directory)."""
    rows = people.search(current_user, request.args.get("q") or "")
    return jsonify({"items": [{"id": i, "name": n} for i, n in rows]})


@bp.get("/tags")
@login_required
def tags():
    """JSON for the tag filter: tags of partners I may see, matching `q`."""
    found = partners.tag_suggestions(current_user, request.args.get("q") or "")
    return jsonify({"items": [{"id": t, "name": t} for t in found]})


# --- the partner page ---------------------------------------------------------------------

@bp.get("/<int:partner_id>")
@login_required
def show(partner_id: int):
    partner = _get_partner(partner_id)
    contacts = db.session.scalars(
        access.visible_contacts(current_user).where(
            Contact.partner_id == partner.id, Contact.archived.is_(False),
            Contact.erased_at.is_(None),  # erasure archives too; this says so where it counts
        ).order_by(Contact.name)).all()
    open_follow_ups = db.session.scalars(
        access.visible_follow_ups(current_user).where(
            FollowUp.partner_id == partner.id, FollowUp.status == "open"
        ).options(joinedload(FollowUp.assignee)).order_by(FollowUp.due_at).limit(20)).all()
    page = timeline.partner_timeline(current_user, partner)
    if partner.sensitivity != "standard":
        audit.record("partner.view", actor=current_user, object_type="partner",
                     object_id=partner.id, details={"sensitivity": partner.sensitivity})
    return render_template(
        "partners/show.html", partner=partner, contacts=contacts,
        open_follow_ups=open_follow_ups, timeline=page, now=timeutil.now_utc(),
        health=engagement.assess(partner, thresholds=_thresholds()),
        # the agreements panel: timeline.agreements, badged for the reader's day
        today=agreements.today_for(current_user), agreement_badges=agreements.badges,
    )


@bp.get("/<int:partner_id>/timeline")
@login_required
def timeline_page(partner_id: int):
    """The htmx "load more" fragment: the next (older) page of the timeline."""
    partner = access.get_visible(current_user, Partner, partner_id)
    try:
        page = timeline.partner_timeline(current_user, partner,
                                         before=request.args.get("before") or None)
    except ValidationError:
        abort(400)
    return render_template("partners/_timeline.html", partner=partner, timeline=page)


# --- create / edit / archive ---------------------------------------------------------------

@bp.route("/new", methods=["GET", "POST"])
@writer_required
def new():
    form = PartnerForm()
    form.set_choices(partners.owner_choices())
    if request.method == "GET":
        form.owner_id.data = current_user.id
    duplicates: list[Partner] = []
    if not form.validate_on_submit():
        _show_every_error(form, partial=False)
    else:
        duplicates = partners.find_duplicates(form.name.data, form.country.data,
                                              user=current_user)
        if duplicates and not form.confirm_duplicate.data:
            form.confirm_duplicate.errors = ["Tick this box if it is a different organisation."]
            _show_every_error(form, partial=False)  # not one more round for a bad website
        else:
            saved, partner, _ = call_service(
                form, lambda: partners.create_partner(current_user, form.service_data()))
            if saved:
                flash(f"Partner “{partner.name}” created.", "success")
                return redirect(url_for("partners.show", partner_id=partner.id))
    return render_template("partners/form.html", form=form, partner=None,
                           duplicates=duplicates, regions=_region_map()), \
        200 if request.method == "GET" else 422


@bp.route("/<int:partner_id>/edit", methods=["GET", "POST"])
@writer_required
def edit(partner_id: int):
    partner = _get_partner(partner_id)
    form = PartnerForm(obj=partner)
    form.set_choices(partners.owner_choices())
    if not access.may_widen_access(current_user, partner):
        form.lock_access(partner.sensitivity)
    if request.method == "GET":
        form.tags.data = ", ".join(partner.tag_names)
        form.collaborator_ids.data = [u.id for u in partner.collaborators]
        form.version.data = str(partner.version)
    elif not form.validate_on_submit():
        _show_every_error(form, partial=True)
    else:
        try:
            records.check_version(partner, _version_read(form.version.data))
        except ConflictError as exc:
            form.form_errors.append(f"{exc} Reload the page to see their changes.")
        else:
            saved, _, _ = call_service(
                form, lambda: partners.update_partner(current_user, partner, form.service_data()))
            if saved:
                flash("Partner saved.", "success")
                return redirect(url_for("partners.show", partner_id=partner_id))
    status = 200 if request.method == "GET" else 422
    return render_template("partners/form.html", form=form, partner=partner,
                           duplicates=[], regions=_region_map()), status


def _show_every_error(form: PartnerForm, *, partial: bool) -> None:
    """When a POST cannot be saved yet (the form's own checks failed, or a duplicate needs
    confirming), add the service's messages for the fields those checks passed, so every
    error shows beside its field at once."""
    if request.method != "POST":
        return
    problems = partners.validation_errors(form.service_data(), partial=partial)
    show_service_errors(form, {key: message for key, message in problems.items()
                               if not (key in form and form[key].errors)})


def _version_read(raw: str | None) -> frozenset[int] | None:
    """The version in the form's hidden field (None when the form sent none)."""
    return records.versions_named([str(raw)]) if raw else None


def _region_map() -> dict[str, str]:
    return {code: countries.region_of(code) for code, _name in countries.country_choices()}


@bp.post("/<int:partner_id>/archive", defaults={"archived": True}, endpoint="archive")
@bp.post("/<int:partner_id>/unarchive", defaults={"archived": False}, endpoint="unarchive")
@writer_required
def set_archived(partner_id: int, archived: bool):
    partner = access.get_visible(current_user, Partner, partner_id)
    (partners.archive_partner if archived else partners.unarchive_partner)(current_user, partner)
    flash(f"“{partner.name}” archived: it no longer shows in lists; its history is kept."
          if archived else f"“{partner.name}” restored.", "success")
    return redirect(url_for("partners.show", partner_id=partner_id))
