"""Account lifecycle: invitations, password set/reset/change, role and scope changes,
deactivation, sign-ins, two-factor enrolment and the network-wide two-factor requirement.

Plain functions over `db.session`: they flush and never commit. The caller commits, then
enqueues the send task (`crm.celery_app.SEND_TASK`) with the ledger ids these functions
return. Links are made by the email renderers at send time
(crm/services/accounts/emails.py), so no usable token is ever stored in the database.

One module per job:

- `logins`          sign-ins: start, find the live one, touch, end
- `email_links`     the signed invitation and reset links: make, check
- `profiles`        the profile rules, an admin's changes to a user, one's own profile, the list
- `invitations`     create an invited user, queue (again) their invitation
- `password_reset`  the reset request, setting a password, a signed-in change
- `two_factor`      the network-wide requirement, enrolment, recovery codes, turning it off
- `second_factor`   the sign-in's second step: check a code, count failures, lock out

Callers use this package's names (`accounts.invite`, …); each module imports only those
before it.
"""

from __future__ import annotations

from .email_links import (
    INVITATION,
    INVITATION_MAX_AGE,
    PASSWORD_RESET,
    RESET_MAX_AGE,
    make_link_token,
    user_for_link,
)
from .invitations import invite, queue_invitation
from .logins import (
    LOGIN_TOUCH_EVERY,
    end_all_logins,
    end_login,
    parse_login_id,
    start_login,
    touch_login,
    user_for_login,
)
from .password_reset import (
    RESET_EMAIL_WINDOW,
    change_password,
    request_password_reset,
    set_password,
)
from .profiles import list_users, update_profile, update_user
from .second_factor import (
    SECURITY_ALERT,
    TwoFactorLocked,
    record_two_factor_failure,
    second_factor_ok,
    second_factor_passed,
    two_factor_locked_until,
)
from .two_factor import (
    REQUIRE_2FA_KEY,
    TWO_FACTOR_ROLES,
    confirm_two_factor,
    disable_two_factor,
    must_enrol,
    pending_totp_secret,
    regenerate_recovery_codes,
    set_two_factor_requirement,
    two_factor_required,
)

__all__ = [
    "INVITATION",
    "INVITATION_MAX_AGE",
    "LOGIN_TOUCH_EVERY",
    "PASSWORD_RESET",
    "REQUIRE_2FA_KEY",
    "RESET_EMAIL_WINDOW",
    "RESET_MAX_AGE",
    "SECURITY_ALERT",
    "TWO_FACTOR_ROLES",
    "TwoFactorLocked",
    "change_password",
    "confirm_two_factor",
    "disable_two_factor",
    "end_all_logins",
    "end_login",
    "invite",
    "list_users",
    "make_link_token",
    "must_enrol",
    "parse_login_id",
    "pending_totp_secret",
    "queue_invitation",
    "record_two_factor_failure",
    "regenerate_recovery_codes",
    "request_password_reset",
    "second_factor_ok",
    "second_factor_passed",
    "set_password",
    "set_two_factor_requirement",
    "start_login",
    "touch_login",
    "two_factor_locked_until",
    "two_factor_required",
    "update_profile",
    "update_user",
    "user_for_link",
    "user_for_login",
]
