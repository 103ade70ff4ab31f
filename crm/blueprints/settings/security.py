"""/settings/two-factor: enrol an authenticator app, recovery codes, turn it off."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from crm.extensions import db
from crm.forms.profile import ConfirmTwoFactorForm, PasswordConfirmForm
from crm.services import accounts, totp
from crm.services.errors import ValidationError

from . import bp


def _enrol_page(form: ConfirmTwoFactorForm | None = None, status: int = 200):
    user = current_user._get_current_object()
    secret = accounts.pending_totp_secret(user)
    db.session.commit()
    uri = totp.provisioning_uri(user, secret)
    return render_template(
        "settings/two_factor.html", user=user, secret=secret, uri=uri, qr=totp.qr_data_uri(uri),
        form=form or ConfirmTwoFactorForm(), password_form=PasswordConfirmForm(),
        required=accounts.must_enrol(user),
    ), status


@bp.get("/two-factor")
@login_required
def two_factor():
    if current_user.totp_enabled:
        return render_template(
            "settings/two_factor.html", user=current_user, password_form=PasswordConfirmForm(),
            remaining=len(current_user.recovery_codes or []),
            required=current_user.role in accounts.TWO_FACTOR_ROLES
            and accounts.two_factor_required())
    return _enrol_page()


@bp.post("/two-factor/confirm")
@login_required
def two_factor_confirm():
    form = ConfirmTwoFactorForm()
    if current_user.totp_enabled:
        return redirect(url_for("settings.two_factor"))
    if not form.validate_on_submit():
        return _enrol_page(form, 422)
    try:
        codes = accounts.confirm_two_factor(current_user, form.code.data)
    except ValidationError as exc:
        db.session.rollback()
        form.code.errors = [exc.fields.get("code", str(exc))]
        return _enrol_page(form, 422)
    db.session.commit()
    flash("Two-factor sign-in is on.", "success")
    return render_template("settings/two_factor_codes.html", codes=codes)


@bp.post("/two-factor/recovery-codes")
@login_required
def two_factor_recovery_codes():
    form = PasswordConfirmForm()
    if form.validate_on_submit() and current_user.totp_enabled:
        try:
            codes = accounts.regenerate_recovery_codes(current_user, form.password.data)
        except ValidationError as exc:
            db.session.rollback()
            flash(exc.fields.get("password", str(exc)), "danger")
            return redirect(url_for("settings.two_factor"))
        db.session.commit()
        return render_template("settings/two_factor_codes.html", codes=codes)
    flash("Enter your password to make new recovery codes.", "danger")
    return redirect(url_for("settings.two_factor"))


@bp.post("/two-factor/disable")
@login_required
def two_factor_disable():
    form = PasswordConfirmForm()
    if form.validate_on_submit():
        try:
            accounts.disable_two_factor(current_user, form.password.data)
        except ValidationError as exc:
            db.session.rollback()
            flash(exc.fields.get("password", str(exc)), "danger")
            return redirect(url_for("settings.two_factor"))
        db.session.commit()
        flash("Two-factor sign-in is off.", "info")
        return redirect(url_for("settings.index"))
    flash("Enter your password to turn two-factor sign-in off.", "danger")
    return redirect(url_for("settings.two_factor"))
