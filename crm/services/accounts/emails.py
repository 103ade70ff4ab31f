"""The invitation, password-reset and security-alert emails (renderers named in
crm.services.emails).

The link is signed here, when the worker renders the email, so the ledger never holds a
usable token. Links are built from CRM_BASE_URL, never from a request's Host header, so a
forged Host cannot poison them.
"""

from __future__ import annotations

from datetime import datetime

from crm import urls
from crm.extensions import db
from crm.lib import timeutil
from crm.mail import Email
from crm.models import User
from crm.services.accounts.email_links import (
    INVITATION,
    INVITATION_MAX_AGE,
    PASSWORD_RESET,
    RESET_MAX_AGE,
    make_link_token,
)
from crm.services.deliveries import MailSettings


def _user(rows: list) -> User | None:
    payload = rows[0].payload or {}
    user = db.session.get(User, payload.get("user_id") or rows[0].recipient_id)
    return user if user is not None and user.active else None


def render_invitation(rows: list, settings: MailSettings) -> Email | None:
    """Invite a user to set their password (None once they have one or were deactivated)."""

    user = _user(rows)
    if user is None or user.password_hash:
        return None
    token = make_link_token(settings.secret_key, INVITATION, user)
    return Email(
        to=user.email, to_name=user.name,
        subject="You are invited to Partner CRM",
        template="invitation",
        context={"name": user.name, "link": urls.invitation_url(settings.base_url, token),
                 "invited_by": (rows[0].payload or {}).get("invited_by"),
                 "hours": INVITATION_MAX_AGE // 3600, "role": user.role,
                 "subject": "You are invited to Partner CRM"},
    )


def render_password_reset(rows: list, settings: MailSettings) -> Email | None:
    """A one-hour, single-use link to choose a new password."""

    user = _user(rows)
    if user is None:
        return None
    token = make_link_token(settings.secret_key, PASSWORD_RESET, user)
    return Email(
        to=user.email, to_name=user.name,
        subject="Reset your Partner CRM password",
        template="password_reset",
        context={"name": user.name, "link": urls.password_reset_url(settings.base_url, token),
                 "minutes": RESET_MAX_AGE // 60,
                 "subject": "Reset your Partner CRM password"},
    )


def render_security_alert(rows: list, settings: MailSettings) -> Email | None:
    """Tell the owner that someone passed their password and failed the second factor."""

    user = _user(rows)
    payload = rows[0].payload or {}
    if user is None or payload.get("event") != "two_factor_lockout":
        return None
    until = timeutil.to_local(datetime.fromisoformat(payload["until"]), user.timezone)
    subject = "Security alert: two-factor sign-in paused on your Partner CRM account"
    return Email(
        to=user.email, to_name=user.name, subject=subject, template="security_alert",
        context={"name": user.name, "failures": payload.get("failures"),
                 "until": until.strftime("%d %b %Y %H:%M"), "timezone": user.timezone,
                 "ip": payload.get("ip") or "unknown",
                 "reset_link": urls.forgot_password_url(settings.base_url),
                 "subject": subject},
    )
