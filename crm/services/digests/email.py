"""The digest email: its subject, its reason line, the composed email, and the ledger's
renderer for the `digest` kind (named in crm.services.emails)."""

from __future__ import annotations

from datetime import datetime

from crm import urls
from crm.extensions import db
from crm.lib import countries, timeutil
from crm.mail import Email
from crm.models import Delivery, User
from crm.models.enums import label
from crm.services import deliveries, engagement

from .compile import compile_digest
from .data import DigestData, is_empty
from .preferences import unsubscribe_token
from .schedule import WEEKDAYS, Period


def subject_for(data: DigestData) -> str:
    end_local = timeutil.to_local(data.period_end, data.timezone)
    start_local = timeutil.to_local(data.period_start, data.timezone)
    if data.frequency == "daily":
        return f"Your daily partner digest: {start_local:%a %d %b %Y}"
    return f"Your weekly partner digest: {start_local:%d %b} – {end_local:%d %b %Y}"


def reason_for(user: User) -> str:
    """Why the person got this email, in one sentence."""
    when = f"{user.digest_hour:02d}:00 ({user.timezone})"
    if user.digest_frequency == "daily":
        schedule = f"a daily digest at {when}"
    else:
        schedule = f"a weekly digest on {WEEKDAYS[user.digest_weekday]}s at {when}"
    extra = " You asked to receive it even when there is nothing new." if user.digest_always \
        else ""
    return (f"You receive this because your Partner CRM account ({user.email}) is set to "
            f"{schedule}.{extra}")


def build_email(user: User, data: DigestData, *, secret_key: str, base_url: str,
                message_id: str | None = None) -> Email:
    """The digest as a `crm.mail.Email`, with one-click unsubscribe (RFC 8058) headers."""
    token = unsubscribe_token(secret_key, user)
    unsubscribe_url = urls.digest_unsubscribe_url(base_url, token)
    tz = user.timezone

    def local(moment: datetime, fmt: str = "%a %d %b %H:%M") -> str:
        return timeutil.to_local(moment, tz).strftime(fmt)

    subject = subject_for(data)
    return Email(
        to=user.email, to_name=user.name, subject=subject, template="digest",
        message_id=message_id,
        context={
            "subject": subject, "d": data, "user": user, "reason": reason_for(user),
            "local": local, "label": label, "base_url": base_url,
            "preferences_url": urls.digest_preferences_url(base_url),
            "unsubscribe_url": unsubscribe_url, "empty": is_empty(data),
            "country_name": countries.country_name,
        },
        headers={"List-Unsubscribe": f"<{unsubscribe_url}>",
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )


def digest_for(user: User, period: Period, now: datetime, *, secret_key: str, base_url: str,
               thresholds: engagement.Thresholds | None = None):
    """(data, email or None, reason): the email is None when the rules say not to send."""
    data = compile_digest(user, period.start, period.end, now, thresholds)
    if not user.active:
        return data, None, "inactive user"
    if user.digest_frequency == "off":
        return data, None, "digests turned off"
    if is_empty(data) and not user.digest_always:
        return data, None, "empty digest"
    return data, build_email(user, data, secret_key=secret_key, base_url=base_url), ""


def render(rows: list[Delivery], settings: deliveries.MailSettings) -> Email | None:
    """The digest's renderer (crm.services.emails): compile the row's period now; None (row
    closed with the reason) when the digest is empty, the user turned digests off or is gone.
    """
    row = rows[0]
    user = db.session.get(User, row.recipient_id) if row.recipient_id else None
    payload = row.payload or {}
    if user is None or "period_start" not in payload:
        deliveries.skip(row, "no such user or period")
        return None
    period = Period(datetime.fromisoformat(payload["period_start"]),
                    datetime.fromisoformat(payload["period_end"]))
    _, email, reason = digest_for(
        user, period, timeutil.now_utc(), secret_key=settings.secret_key,
        base_url=settings.base_url, thresholds=settings.thresholds)
    if email is None:
        deliveries.skip(row, reason)
    return email
