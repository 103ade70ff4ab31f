"""Sign in (password, then the second factor when on), sign out, forgotten passwords,
invitations. Rate-limited, audited, and `next` never leaves the site."""

from __future__ import annotations

import time
from datetime import UTC
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required

from crm import security, uow
from crm.celery_app import SEND_TASK, enqueue
from crm.extensions import db, limiter
from crm.forms.auth import ForgotPasswordForm, LoginForm, SetPasswordForm, TwoFactorForm
from crm.forms.errors import show_service_errors
from crm.lib import links
from crm.models import User
from crm.services import accounts, audit
from crm.services.accounts import users
from crm.services.errors import ValidationError

bp = Blueprint("auth", __name__)

#: how long the password step stays good while the user fetches their code
TWO_FACTOR_WINDOW = 300


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (blocks //evil, /\\evil, schemes)."""
    if not target:
        return None
    cleaned = target.strip().replace("\\", "/")
    if not cleaned.startswith("/") or cleaned.startswith("//"):
        return None
    if any(ord(ch) < 32 for ch in cleaned):
        return None
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc:
        return None
    return cleaned


def _failed_login_counts(response) -> bool:
    """Only failed attempts count toward the limit."""
    return response.status_code != 302


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _reset_limit() -> str:
    return current_app.config.get("PASSWORD_RESET_RATE_LIMIT", "5 per minute; 30 per hour")


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _finish_login(user: User, *, remember: bool, next_url: str | None, method: str):
    """A fresh session for `user` (no fixation) bound to a new server-side sign-in,
    audited; enrolment first when required."""
    security.start_session(user, remember=bool(remember))
    audit.record("auth.login", actor=user, object_type="user", object_id=user.id,
                 details={"method": method, "remember": bool(remember)})
    if accounts.must_enrol(user):
        flash("Your network requires two-factor sign-in for your role: set it up now.", "info")
        return redirect(url_for("settings.two_factor"))
    return redirect(safe_next(next_url) or url_for("dashboard.index"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed_login_counts)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = users.authenticate(form.email.data, form.password.data)
        if user is None:
            audit.record_now("auth.login_failed", actor=None,
                             details={"email": form.email.data[:254]})
            flash("That email and password do not match an active account.", "danger")
            return render_template("auth/login.html", form=form), 401
        if user.totp_enabled:  # the redirect commits a rehashed password and last_login_at
            session.clear()
            session["2fa"] = {"uid": user.id, "v": user.session_version, "at": time.time(),
                              "remember": bool(form.remember.data),
                              "next": safe_next(form.next.data)}
            return redirect(url_for("auth.two_factor"))
        return _finish_login(user, remember=form.remember.data, next_url=form.next.data,
                             method="password")
    return render_template("auth/login.html", form=form)


def _pending_two_factor_user() -> User | None:
    pending = session.get("2fa") or {}
    if not pending or time.time() - pending.get("at", 0) > TWO_FACTOR_WINDOW:
        return None
    user = db.session.get(User, pending.get("uid"))
    if user is None or not user.active or user.session_version != pending.get("v"):
        return None
    return user


@bp.route("/login/two-factor", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed_login_counts)
def two_factor():
    user = _pending_two_factor_user()
    if user is None:
        session.pop("2fa", None)
        flash("Sign in again to continue.", "info")
        return redirect(url_for("auth.login"))
    form = TwoFactorForm()
    if form.validate_on_submit():
        locked = accounts.two_factor_locked_until(user)
        if locked is not None:
            return _two_factor_locked(form, locked)
        method = accounts.second_factor_ok(user, form.code.data)
        if method is None:
            uow.rollback()
            audit.record_now("auth.two_factor_failed", actor=user.id, object_type="user",
                             object_id=user.id)
            config = current_app.config
            ids = accounts.record_two_factor_failure(
                user, max_failures=config["TWO_FACTOR_MAX_FAILURES"],
                lockout=config["TWO_FACTOR_LOCKOUT"], ip=request.remote_addr)
            # deliberate: the failure counts toward the lockout although the answer is 401/429
            db.session.commit()
            if ids:
                enqueue(current_app, SEND_TASK, ids)
                db.session.refresh(user)
                return _two_factor_locked(form, user.two_factor_locked_until)
            form.code.errors = ["That code does not match. Try the current code, or a "
                                "recovery code."]
            return render_template("auth/two_factor.html", form=form), 401
        accounts.second_factor_passed(user)
        pending = session.get("2fa") or {}
        return _finish_login(user, remember=pending.get("remember", False),
                             next_url=pending.get("next"), method=method)
    return render_template("auth/two_factor.html", form=form)


def _two_factor_locked(form: TwoFactorForm, until):
    """Too many wrong codes for this account: no code is checked until `until`."""
    form.code.errors = [
        "Too many wrong codes for this account: two-factor sign-in is paused until "
        f"{until.astimezone(UTC):%H:%M} UTC. We have emailed the account's owner. If you "
        "did not sign in, choose a new password with “Forgot your password?”."]
    return render_template("auth/two_factor.html", form=form), 429


@bp.post("/logout")
@login_required
def logout():
    """Sign out: the sign-in ends server-side and the remember cookie is deleted."""
    audit.record("auth.logout", actor=current_user.id, object_type="user",
                 object_id=current_user.id)
    security.end_session("sign_out")
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def forgot_password():
    """The same answer for every email: no account enumeration."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        ids = accounts.request_password_reset(form.email.data)
        if ids:
            uow.after_commit(lambda: enqueue(current_app, SEND_TASK, ids))
        return render_template("auth/forgot_password_sent.html")
    return render_template("auth/forgot_password.html", form=form)


def _link_page(purpose: str, token: str, template: str):
    """GET shows the form (the link is only peeked: mail scanners spend nothing);
    POST spends the link and sets the password in one transaction."""
    try:
        user = accounts.user_for_link(_secret(), purpose, token)
    except links.LinkError as exc:
        return render_template("auth/link_error.html", reason=exc.reason, purpose=purpose), 400
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.user_for_link(_secret(), purpose, token, consume=True)
            accounts.set_password(
                user, form.password.data, actor=user,
                action="user.invitation_accepted" if purpose == accounts.INVITATION
                else "user.password_reset")
        except links.LinkError as exc:
            return render_template("auth/link_error.html", reason=exc.reason,
                                   purpose=purpose), 400
        except ValidationError as exc:
            uow.rollback()
            show_service_errors(form, exc.fields, fallback="password")
            return render_template(template, form=form, user=user), 422
        if user.totp_enabled:
            flash("Your password is changed. Sign in with it and your code.", "success")
            return redirect(url_for("auth.login"))
        flash("Your password is set. Welcome!" if purpose == accounts.INVITATION
              else "Your password is changed; other sessions are signed out.", "success")
        return _finish_login(user, remember=False, next_url=None, method=purpose)
    return render_template(template, form=form, user=user)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@security.token_link
@limiter.limit(_reset_limit, methods=["POST"])
def accept_invitation(token: str):
    return _link_page(accounts.INVITATION, token, "auth/accept_invitation.html")


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@security.token_link
@limiter.limit(_reset_limit, methods=["POST"])
def reset_password(token: str):
    return _link_page(accounts.PASSWORD_RESET, token, "auth/reset_password.html")
