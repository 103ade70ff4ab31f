"""/settings/two-factor: enrol an authenticator app, recovery codes, turn it off;
/settings/confirm-password: the re-authentication step before sensitive actions."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm import security, uow
from crm.blueprints.auth.views import safe_next
from crm.extensions import db, limiter
from crm.forms.errors import show_service_errors
from crm.forms.profile import ConfirmTwoFactorForm, PasswordConfirmForm
from crm.lib import passwords, totp
from crm.services import accounts, audit
from crm.services.errors import ValidationError

from . import bp


def _enrol_page(form: ConfirmTwoFactorForm | None = None, status: int = 200):
    user = current_user
    secret = accounts.pending_totp_secret(user)
    # deliberate: the secret shown in the QR code is kept even when this page answers 422
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
        uow.rollback()
        show_service_errors(form, exc.fields, fallback="code")
        return _enrol_page(form, 422)
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
            uow.rollback()  # refused, and the redirect would commit
            flash(exc.fields.get("password", str(exc)), "danger")
            return redirect(url_for("settings.two_factor"))
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
            uow.rollback()  # refused, and the redirect would commit
            flash(exc.fields.get("password", str(exc)), "danger")
            return redirect(url_for("settings.two_factor"))
        flash("Two-factor sign-in is off.", "info")
        return redirect(url_for("settings.index"))
    flash("Enter your password to turn two-factor sign-in off.", "danger")
    return redirect(url_for("settings.two_factor"))


def _reauth_key() -> str:
    """Per account, not per address: a stolen session cannot guess from many IPs."""
    return f"reauth:{current_user.get_id().split(':', 1)[0]}" if current_user.is_authenticated \
        else f"reauth-ip:{request.remote_addr}"


@bp.route("/confirm-password", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=_reauth_key,
               methods=["POST"], deduct_when=lambda response: response.status_code != 303)
def confirm_password():
    """Re-authentication for sensitive steps: the password again, then back to `next`."""
    next_url = safe_next(request.values.get("next")) or url_for("settings.index")
    form = PasswordConfirmForm()
    if form.validate_on_submit():
        user = current_user
        if passwords.verify_password(user.password_hash, form.password.data or ""):
            security.mark_reauthenticated()
            audit.record("auth.reauthenticated", actor=user, object_type="user",
                         object_id=user.id)
            return redirect(next_url, code=303)
        audit.record_now("auth.reauth_failed", actor=user.id, object_type="user",
                         object_id=user.id)
        form.password.errors = ["That is not your current password."]
        return render_template("settings/confirm_password.html", form=form,
                               next_url=next_url), 401
    return render_template("settings/confirm_password.html", form=form, next_url=next_url)
