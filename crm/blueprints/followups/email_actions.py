"""Signed links in reminder emails (Mark done / Snooze a week) and "Upcoming reminders".

GET shows a confirmation page and changes nothing (mail scanners follow links); the POST
of that page, with its CSRF token, performs the change as the assignee. The token is the
credential (no sign-in needed), single-use and valid for 7 days.
"""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_login import current_user, login_required

from crm import security
from crm.lib import links, timeutil
from crm.services import reminders
from crm.services.errors import ConflictError, ValidationError

from .views import bp

LINK_MAX_AGE = 7 * 24 * 3600
_LINK_ERRORS = {
    "expired": "This link has expired (links work for 7 days). Open the follow-up in the CRM "
               "instead.",
    "used": "This link has already been used.",
    "invalid": "This link is not valid. Check that it was copied completely.",
}


def _page(status: int = 200, **context):
    return render_template("followups/email_action.html", **context), status


@bp.route("/email-action/<token>", methods=["GET", "POST"])
@security.token_link
def email_action(token: str):
    """Confirm (GET) then perform (POST) a reminder email's action."""
    secret = current_app.config["SECRET_KEY"]
    purpose = reminders.LINK_PURPOSE
    try:
        if request.method == "POST":  # CSRFProtect has checked the form's token
            data = links.consume(secret, purpose, token, LINK_MAX_AGE)
        else:
            data = links.peek(secret, purpose, token, LINK_MAX_AGE)
        target = reminders.action_target(data)
    except links.LinkError as exc:
        return _page(410 if exc.reason in ("expired", "used") else 404,
                     error=_LINK_ERRORS[exc.reason])
    except reminders.ActionRefused as exc:
        return _page(409, error=exc.reason)
    if request.method == "GET":
        return _page(target=target, token=token, tz=target.user.timezone,
                     until=timeutil.to_local(target.snooze_until, target.user.timezone))
    shown = {"title": target.follow_up.title, "partner": target.follow_up.partner.name}
    try:
        fu = reminders.apply_action(target)
    except (ValidationError, ConflictError) as exc:
        return _page(409, error=str(exc) or "This follow-up cannot be changed now.")
    return _page(done=True, target=target, shown=shown,
                 until=timeutil.to_local(fu.due_at, target.user.timezone))


@bp.get("/reminders")
@login_required
def upcoming_reminders():
    """The signed-in user's next reminder for each open follow-up they may still see
    (scoped by the visibility module inside `upcoming_for`: one statement)."""
    config = current_app.config
    now = timeutil.now_utc()
    items = reminders.upcoming_for(current_user, now, hour=int(config["REMINDER_HOUR"]),
                                   escalation_days=int(config["ESCALATION_DAYS"]))
    return render_template("followups/upcoming_reminders.html", items=items,
                           title="Upcoming reminders", hour=config["REMINDER_HOUR"])
