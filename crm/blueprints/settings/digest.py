"""/settings/digest: preferences, preview, and the one-click unsubscribe link (RFC 8058)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, RadioField, SelectField, SubmitField

from crm import mail, security, uow
from crm.blueprints.formflow import save_form
from crm.extensions import csrf, db
from crm.lib import links, safetext, timeutil
from crm.models import User
from crm.services import digests
from crm.services.deliveries import MailSettings

from . import bp


class DigestForm(FlaskForm):
    frequency = RadioField("How often", choices=[
        ("weekly", "Weekly"), ("daily", "Daily (every morning)"), ("off", "Off")])
    weekday = SelectField("Day (weekly digest)", coerce=int,
                          choices=list(enumerate(digests.WEEKDAYS)))
    hour = SelectField("Local time", coerce=int,
                       choices=[(h, f"{h:02d}:00") for h in range(24)])
    always = BooleanField("Send it even when there is nothing new")
    submit = SubmitField("Save digest preferences")


def _form_page(form: DigestForm, status: int = 200):
    return render_template(
        "settings/digest.html", form=form, user=current_user,
        next_at=digests.next_digest_at(current_user, timeutil.now_utc())), status


@bp.get("/digest")
@login_required
def digest():
    user = current_user
    form = DigestForm(data={"frequency": user.digest_frequency, "weekday": user.digest_weekday,
                            "hour": user.digest_hour, "always": user.digest_always})
    return _form_page(form)


@bp.post("/digest")
@login_required
def digest_save():
    form = DigestForm()
    saved, changes, status = save_form(form, lambda: digests.update_preferences(
        current_user, frequency=form.frequency.data, weekday=form.weekday.data,
        hour=form.hour.data, always=form.always.data, actor=current_user),
        fallback="frequency")
    if not saved:
        return _form_page(form, status)
    flash("Your digest preferences are saved." if changes else "Nothing changed.", "success")
    return redirect(url_for("settings.digest"))


def _preview_user() -> User:
    wanted = request.args.get("user_id", type=int)
    if wanted is None or wanted == current_user.id:
        return current_user
    if not current_user.is_admin or not safetext.is_id(wanted):
        abort(404)
    return db.session.get(User, wanted) or abort(404)


@bp.get("/digest/preview")
@login_required
def digest_preview():
    """Exactly what the digest would say if it were sent now (admins: any user's)."""
    user = _preview_user()
    now = timeutil.now_utc()
    period = digests.period_for(user, now)
    note = ""
    if period is None:  # digests off: show what a weekly one would say
        note = "Digests are off for this user; this is what the weekly digest would say."
        weekly = User(digest_frequency="weekly", digest_weekday=user.digest_weekday,
                      digest_hour=user.digest_hour, timezone=user.timezone)
        period = digests.period_for(weekly, now)
    settings = MailSettings.from_config(current_app.config)
    data, email, reason = digests.digest_for(
        user, period, now, secret_key=settings.secret_key, base_url=settings.base_url,
        thresholds=settings.thresholds)
    if email is None:
        note = note or f"This digest would not be sent now ({reason})."
        email = digests.build_email(user, data, secret_key=settings.secret_key,
                                    base_url=settings.base_url)
    message = mail.build(email)
    users = (db.session.execute(db.select(User.id, User.name).where(User.active.is_(True))
                                .order_by(User.name)).all() if current_user.is_admin else [])
    return render_template(
        "settings/digest_preview.html", subject=email.subject, target=user, note=note,
        headers=[(k, message[k]) for k in ("To", "Subject", "List-Unsubscribe",
                                           "List-Unsubscribe-Post")],
        html=message.get_body(preferencelist=("html",)).get_content(),
        text=message.get_body(preferencelist=("plain",)).get_content(),
        users=users)


_LINK_MESSAGES = {
    "used": "This unsubscribe link has already been used.",
    "expired": "This unsubscribe link has expired. Change your preferences in Settings.",
    "invalid": "This unsubscribe link is not valid.",
}


@bp.route("/digest/unsubscribe/<token>", methods=["GET", "POST"])
@security.token_link
@csrf.exempt  # RFC 8058 one-click: the mail client POSTs without a session or CSRF token
def digest_unsubscribe(token: str):
    """GET shows a confirmation page (link scanners change nothing); POST unsubscribes once."""
    secret = current_app.config["SECRET_KEY"]
    try:
        if request.method == "GET":
            user = digests.user_for_unsubscribe(secret, token)
            return render_template("settings/digest_unsubscribe.html", user=user,
                                   token=token, done=False)
        user = digests.unsubscribe(secret, token)
    except links.LinkError as exc:
        return render_template("settings/digest_unsubscribe.html", error=_LINK_MESSAGES.get(
            exc.reason, _LINK_MESSAGES["invalid"])), 400
    except IntegrityError:  # a concurrent use of the same link won the race
        uow.rollback()  # now: the failed flush leaves the session unusable for the page
        return render_template("settings/digest_unsubscribe.html",
                               error=_LINK_MESSAGES["used"]), 400
    return render_template("settings/digest_unsubscribe.html", user=user, done=True)
