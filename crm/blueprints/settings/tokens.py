"""/settings/tokens: personal API tokens — create (shown once), list, revoke.

The plain token is rendered in the response to the POST that created it and never
again: it is not flashed (the session cookie is signed, not encrypted) nor stored.
Creating one asks for the password again unless it was entered in this session within
REAUTH_WINDOW (crm.security.recent_auth_required): a token outlives the session, so a
hijacked session must not be able to mint one. A password change revokes them all.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from crm import security
from crm.extensions import db
from crm.lib import timeutil
from crm.models import ApiToken
from crm.services.accounts import tokens

from . import bp


class TokenForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)],
                       description="What the token is for, e.g. “reporting script”.")
    expires_on = DateField("Expires on (optional)", validators=[Optional()],
                           description="The token stops working at the start of this day "
                                       "(your time zone). Leave empty for no expiry.")
    submit = SubmitField("Create token")

    def validate_expires_on(self, field) -> None:
        today = timeutil.local_date(timeutil.now_utc(), current_user.timezone)
        if field.data and field.data <= today:
            raise ValidationError("Choose a day after today.")
        if field.data and field.data > today + timedelta(days=366 * 5):
            raise ValidationError("Choose a day within the next five years.")


class RevokeForm(FlaskForm):
    submit = SubmitField("Revoke")


def _render(form: TokenForm | None = None, new_token: str | None = None, status: int = 200):
    rows = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == current_user.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())
    ).all()
    return render_template("settings/tokens.html", form=form or TokenForm(), tokens=rows,
                           revoke_form=RevokeForm(), new_token=new_token,
                           now=timeutil.now_utc(),
                           confirmed=security.recently_authenticated()), status


@bp.get("/tokens", endpoint="tokens")
@login_required
def tokens_page():
    return _render()


@bp.post("/tokens")
@login_required
@security.recent_auth_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return _render(form, status=422)
    expires_at = None
    if form.expires_on.data:
        expires_at = timeutil.local_day_at(form.expires_on.data, 0, current_user.timezone)
    _row, plain = tokens.create_token(current_user, form.name.data.strip(),
                                      expires_at=expires_at)
    return _render(new_token=plain, status=201)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    if not RevokeForm().validate_on_submit():
        abort(400)
    row = db.session.scalar(select(ApiToken).where(ApiToken.id == token_id,
                                                   ApiToken.user_id == current_user.id))
    if row is None:
        abort(404)
    if row.revoked_at is None:
        tokens.revoke(row, current_user)
        flash(f"The token “{row.name}” is revoked; it no longer works.", "success")
    return redirect(url_for("settings.tokens"))
