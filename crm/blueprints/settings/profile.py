"""/settings: the user's own profile (name, time zone) and password."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from crm import security
from crm.blueprints.decorators import signed_in_user
from crm.blueprints.formflow import save_form
from crm.forms.profile import ChangePasswordForm, ProfileForm
from crm.services import accounts

from . import bp


def _render(profile_form=None, password_form=None, status: int = 200):
    user = current_user
    profile_form = profile_form or ProfileForm(obj=user)
    return render_template(
        "settings/profile.html", user=user, profile_form=profile_form,
        password_form=password_form or ChangePasswordForm(),
        two_factor_required=accounts.must_enrol(user) or (
            user.role in accounts.TWO_FACTOR_ROLES and accounts.two_factor_required()),
    ), status


@bp.get("/")
@login_required
def index():
    return _render()


@bp.post("/profile")
@login_required
def update_profile():
    form = ProfileForm()
    saved, _, status = save_form(form, lambda: accounts.update_profile(
        current_user, name=form.name.data, timezone=form.timezone.data), fallback="name")
    if not saved:
        return _render(profile_form=form, status=status)
    flash("Your profile is saved.", "success")
    return redirect(url_for("settings.index"))


@bp.post("/password")
@login_required
def change_password():
    """Change the password; every other session ends, this one is signed in afresh."""
    form = ChangePasswordForm()
    user = signed_in_user()
    saved, _, status = save_form(form, lambda: accounts.change_password(
        user, form.current_password.data, form.new_password.data), fallback="new_password")
    if not saved:
        return _render(password_form=form, status=status)
    # the new session_version: this browser gets a new sign-in, every other one ends
    security.start_session(user, remember=False)
    flash("Your password is changed. Other sessions have been signed out and your API "
          "tokens revoked.", "success")
    return redirect(url_for("settings.index"))
