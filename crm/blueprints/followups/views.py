"""My follow-ups (grouped by local day), the team's overdue list, add and act on follow-ups.

Every action is a POST with CSRF; htmx requests get the updated row back, others a
redirect with a flash message.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from crm import uow
from crm.blueprints.auth.views import safe_next
from crm.blueprints.decorators import writer_required
from crm.blueprints.formflow import save_form
from crm.blueprints.interactions.views import partner_page_url
from crm.extensions import db
from crm.forms.followups import ActionForm, FollowUpForm, ReassignForm, SnoozeForm
from crm.lib import timeutil
from crm.models import FollowUp, Partner
from crm.services import access, followups, interactions
from crm.services.errors import ConflictError, ValidationError

bp = Blueprint("followups", __name__)

GROUP_TITLES = {"overdue": "Overdue", "today": "Today", "this_week": "This week",
                "later": "Later"}
SNOOZE_LABELS = {1: "1 day", 7: "1 week"}
#: how long the page offers Undo after Done (the service accepts it a little longer)
UNDO_SECONDS = 10


@bp.get("/")
@login_required
def index():
    """My open follow-ups, or (?scope=team) the team's overdue ones for managers/admins."""
    if request.args.get("scope") == "team":
        if current_user.role not in ("manager", "admin"):
            abort(403)
        items, total = followups.team_overdue(current_user)
        return render_template("followups/team.html", items=items, total=total,
                               action_form=ActionForm(), now=timeutil.now_utc())
    groups = followups.my_follow_ups(current_user)
    # the page's own counts feed the nav badge too (no second statement, no lazy load)
    counts = {"total": sum(map(len, groups.values())),
              **{name: len(items) for name, items in groups.items()}}
    return render_template("followups/index.html", groups=groups, titles=GROUP_TITLES,
                           action_form=ActionForm(), total=counts["total"],
                           followup_counts=counts, counts_view="mine",
                           now=timeutil.now_utc())


@bp.get("/counts")
@login_required
def counts():
    """The nav badge (htmx loads it after the page: pages stay one statement lighter)."""
    return render_template("followups/_counts.html",
                           counts=followups.counts(current_user), oob=False)


@bp.app_template_global()
def snooze_choices(fu: FollowUp) -> list[tuple[int, str, datetime]]:
    """(days, label, the moment it would become due) for a row's snooze menu."""
    tz = current_user.timezone
    now = timeutil.now_utc()
    return [(days, SNOOZE_LABELS[days], timeutil.to_local(
        followups.snooze_until(fu.due_at, days, tz, now), tz))
        for days in followups.SNOOZE_CHOICES]


@bp.app_template_global()
def snooze_earliest_day(fu: FollowUp) -> date:
    """The first day the date picker accepts: the day after (its due day or today)."""
    tz = current_user.timezone
    return timeutil.local_date(followups.snooze_until(fu.due_at, 1, tz), tz)


def _partner_for(raw) -> Partner | None:
    if raw in (None, ""):
        return None
    return access.get_visible(current_user, Partner, raw)


@bp.route("/new", methods=["GET", "POST"])
@writer_required
def new():
    """Add a follow-up to a partner (?partner_id= preselects it)."""
    form = FollowUpForm()
    raw = request.form.get("partner_id") if request.method == "POST" else request.args.get(
        "partner_id")
    partner = _partner_for(raw)
    chosen = [(partner.id, partner.name)] if partner else []
    form.partner_id.choices = [("", "Choose a partner…"), *chosen] + [
        (p.id, p.name) for p in interactions.partner_choices(current_user)
        if not partner or p.id != partner.id]
    form.assignee_id.choices = [(u.id, u.name) for u in followups.assignable_users()]
    if request.method == "GET":
        form.partner_id.data = partner.id if partner else None
        form.assignee_id.data = current_user.id
    saved, fu, status = save_form(form, lambda: followups.create_follow_up(current_user, partner, {
        "title": form.title.data,
        "due_at": followups.local_due(form.due.data, current_user.timezone),
        "assignee_id": form.assignee_id.data,
        "sensitivity": form.sensitivity.data,
    }))
    if saved:
        flash(f"Follow-up “{fu.title}” added.", "success")
        return redirect(partner_page_url(partner.id))
    return render_template("followups/new.html", form=form, partner=partner), status


# --- actions --------------------------------------------------------------------------

def _load(id: int) -> FollowUp:
    return access.get_visible(current_user, FollowUp, id)


def _done(fu: FollowUp, message: str, status: int = 200, *, undo: bool = False):
    """htmx: the row again, showing its new state and the message (htmx swaps only 2xx,
    so a refusal is a 200 row with the error), plus out-of-band counters (the nav badge,
    and the headings of "My follow-ups" when the row is on it); otherwise back where the
    user was."""
    if request.headers.get("HX-Request"):
        fu = access.get_visible(current_user, FollowUp, fu.id, *followups.eager_options())
        view = request.form.get("view")
        return render_template("followups/_row_changed.html", fu=fu, message=message,
                               ok=status < 400, undo=undo and status < 400,
                               undo_seconds=UNDO_SECONDS, action_form=ActionForm(),
                               now=timeutil.now_utc(), counts_view=view,
                               counts=followups.counts(current_user),
                               team_total=(followups.team_overdue_count(current_user)
                                           if view == "team" and current_user.role
                                           in ("manager", "admin") else None))
    flash(message, "success" if status < 400 else "danger")
    return redirect(safe_next(request.form.get("next")) or url_for("followups.index"))


def _refused(fu: FollowUp, exc: Exception):
    """Nothing is kept: the answer is a 2xx row or a redirect, which would commit."""
    uow.rollback()
    if isinstance(exc, ValidationError):
        return _done(fu, next(iter(exc.fields.values())), 422)
    return _done(fu, str(exc), 409)


def _act(id: int, action, message: str, *args, undo: bool = False):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    fu = _load(id)
    try:
        action(current_user, fu, *args)
    except (ValidationError, ConflictError) as exc:
        return _refused(fu, exc)
    return _done(fu, message.format(title=fu.title), undo=undo)


@bp.post("/<int:id>/complete")
@writer_required
def complete(id: int):
    return _act(id, followups.complete, "Done: {title}.", undo=True)


@bp.post("/<int:id>/reopen")
@writer_required
def reopen(id: int):
    """Undo "Done" (offered for a few seconds after it; audited as follow_up.reopen)."""
    return _act(id, followups.reopen, "Undone: {title} is open again.")


@bp.post("/<int:id>/cancel")
@writer_required
def cancel(id: int):
    return _act(id, followups.cancel, "Cancelled: {title}.")


@bp.post("/<int:id>/snooze")
@writer_required
def snooze(id: int):
    """Snooze by 1 day / 1 week (followups.snooze_until's rule) or to a picked date."""
    form = SnoozeForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        fu = _load(id)
        return _refused(fu, ValidationError({"until": "Choose a valid date."}))
    fu = _load(id)
    tz = current_user.timezone
    try:
        if form.days.data:
            followups.snooze_for(current_user, fu, int(form.days.data))
        elif form.date.data:
            followups.snooze(current_user, fu, followups.local_due(form.date.data, tz))
        else:
            raise ValidationError({"until": "Choose how long to snooze."})
    except (ValidationError, ConflictError) as exc:
        return _refused(fu, exc)
    return _done(fu, f"Snoozed until {timeutil.to_local(fu.due_at, tz):%a %d %b}: {fu.title}.")


@bp.route("/<int:id>/reassign", methods=["GET", "POST"])
@writer_required
def reassign(id: int):
    """A small page: choose the new assignee (keeps the list page light)."""
    fu = _load(id)
    form = ReassignForm()
    form.assignee_id.choices = [(u.id, u.name) for u in followups.assignable_users()]
    if request.method == "GET":
        form.assignee_id.data = fu.assignee_id
        form.next.data = safe_next(request.args.get("next")) or ""
    saved, _, status = save_form(
        form, lambda: followups.reassign(current_user, fu, form.assignee_id.data))
    if saved:
        flash(f"Reassigned: {fu.title}.", "success")
        return redirect(safe_next(form.next.data) or url_for("followups.index"))
    partner = db.session.get(Partner, fu.partner_id)
    return render_template("followups/reassign.html", form=form, fu=fu,
                           partner=partner), status
