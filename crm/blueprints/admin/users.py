"""/admin/users: invite users, change role / region scope, deactivate (admins only).

No admin ever sees or sets a password: an invitation email carries a single-use link.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm import uow
from crm.blueprints.decorators import roles_required
from crm.blueprints.formflow import save_form
from crm.celery_app import SEND_TASK, enqueue
from crm.extensions import db
from crm.forms.accounts import EditUserForm, InviteForm, TwoFactorPolicyForm, region_choices
from crm.models import User
from crm.models.enums import ROLES
from crm.services import accounts
from crm.services.errors import ValidationError

from . import bp

PER_PAGE = 25


def _send_after_commit(ids: list[int]) -> None:
    """The invitation emails leave once the request's commit has stored them."""
    if ids:
        uow.after_commit(lambda: enqueue(current_app, SEND_TASK, ids))


@bp.get("/users")
@roles_required("admin")
def users():
    filters = {key: request.args.get(key, "").strip()[:100]
               for key in ("q", "role", "status", "region")}
    page = db.paginate(accounts.list_users(**filters), per_page=PER_PAGE, error_out=False)
    policy = TwoFactorPolicyForm(require=accounts.two_factor_required())
    return render_template("admin/users.html", page=page, filters=filters, roles=ROLES,
                           regions=region_choices()[1:], policy_form=policy)


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required("admin")
def users_new():
    form = InviteForm(inviter_timezone=current_user.timezone)
    saved, invited, status = save_form(form, lambda: accounts.invite(
        current_user, email=form.email.data, name=form.name.data, role=form.role.data,
        timezone=form.timezone.data, region_scope=form.region_scope.data))
    if saved:
        user, ids = invited
        _send_after_commit(ids)
        flash(f"Invitation sent to {user.email}.", "success")
        return redirect(url_for("admin.users"))
    return render_template("admin/users_form.html", form=form), status


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def users_edit(user_id: int):
    user = _user_or_404(user_id)
    form = EditUserForm(obj=user)
    saved, delta, status = save_form(form, lambda: accounts.update_user(current_user, user, {
        "name": form.name.data, "role": form.role.data,
        "region_scope": form.region_scope.data or None,
        "timezone": form.timezone.data, "active": bool(form.active.data)}))
    if saved:
        flash(f"Saved {user.name}: {', '.join(delta) or 'nothing changed'}.", "success")
        return redirect(url_for("admin.users_edit", user_id=user.id))
    return render_template("admin/users_edit.html", form=form, user=user), status


@bp.post("/users/<int:user_id>/resend")
@roles_required("admin")
def users_resend(user_id: int):
    user = _user_or_404(user_id)
    form = TwoFactorPolicyForm()  # any FlaskForm: only the CSRF token matters here
    if not form.validate_on_submit():
        abort(400)
    try:
        ids = accounts.queue_invitation(user, current_user)
    except ValidationError as exc:
        uow.rollback()  # refused, and the redirect would commit
        flash(str(exc.fields.get("__all__", exc)), "danger")
        return redirect(url_for("admin.users_edit", user_id=user.id))
    _send_after_commit(ids)
    flash(f"A new invitation is on its way to {user.email}.", "success")
    return redirect(url_for("admin.users_edit", user_id=user.id))


@bp.post("/users/two-factor-policy")
@roles_required("admin")
def users_two_factor_policy():
    form = TwoFactorPolicyForm()
    if not form.validate_on_submit():
        abort(400)
    accounts.set_two_factor_requirement(current_user, bool(form.require.data))
    flash("Two-factor sign-in is now " + ("required" if form.require.data else "optional")
          + " for admins and managers.", "success")
    return redirect(url_for("admin.users"))
