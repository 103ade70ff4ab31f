"""Sign in / sign out. Rate-limited, audited, and `next` never leaves the site."""

from __future__ import annotations

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
from flask_login import current_user, login_required, login_user, logout_user

from crm.extensions import db, limiter
from crm.forms.auth import LoginForm
from crm.services import audit, users

bp = Blueprint("auth", __name__)


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


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"],
               deduct_when=_failed_login_counts)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = users.authenticate(form.email.data, form.password.data)
        if user is None:
            db.session.rollback()
            audit.record_now("auth.login_failed", actor=None,
                             details={"email": form.email.data[:254]})
            flash("That email and password do not match an active account.", "danger")
            return render_template("auth/login.html", form=form), 401
        session.clear()  # a new session on sign-in (no fixation)
        login_user(user, remember=form.remember.data)
        audit.record("auth.login", actor=user, object_type="user", object_id=user.id)
        db.session.commit()
        return redirect(safe_next(form.next.data) or url_for("dashboard.index"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    audit.record("auth.logout", actor=current_user.id, object_type="user",
                 object_id=current_user.id)
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
