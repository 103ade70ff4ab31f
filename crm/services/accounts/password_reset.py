"""Passwords: the reset request, the policy-checked set (invitation, reset) that ends every
other session, and a signed-in user's change."""

from __future__ import annotations

from crm.extensions import db
from crm.lib import password_policy, passwords, timeutil
from crm.models import User
from crm.services import audit, deliveries
from crm.services.accounts import tokens, users

from ..errors import ValidationError
from .email_links import PASSWORD_RESET
from .logins import end_all_logins

#: one reset email per user per this many seconds, whatever the number of requests
RESET_EMAIL_WINDOW = 300


def request_password_reset(email: str) -> list[int]:
    """Queue a reset email if `email` is an active account; the same work either way.

    Both paths run one argon2 verification, so response time does not reveal whether the
    account exists. Returns the ledger ids (empty for unknown emails and repeats).
    """
    user = users.find_by_email(email)
    passwords.verify_password(None, email or "")  # equal work, known or not
    if user is None or not user.active:
        audit.record("auth.reset_requested", actor=None, details={"known": False})
        return []
    audit.record("auth.reset_requested", actor=user, object_type="user", object_id=user.id)
    window = int(timeutil.now_utc().timestamp()) // RESET_EMAIL_WINDOW
    return deliveries.insert_ignore([{
        "kind": PASSWORD_RESET,
        "recipient_id": user.id,
        "recipient_email": user.email,
        "dedupe_key": f"password_reset:{user.id}:{window}",
        "payload": {"user_id": user.id},
    }])


def set_password(user: User, password: str, *, actor: User | None, action: str,
                 field: str = "password") -> None:
    """Apply the policy, store the argon2id hash, end every other session of the user."""
    problems = password_policy.problems(password, email=user.email, name=user.name)
    if problems:
        raise ValidationError({field: " ".join(problems)})
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = timeutil.now_utc()
    user.session_version = (user.session_version or 1) + 1
    # the one who knows the new password is the owner: the second step opens again
    user.two_factor_failures = 0
    user.two_factor_locked_until = None
    audit.record(action, actor=actor or user, object_type="user", object_id=user.id)
    tokens.revoke_all(user, actor or user, reason=action)
    end_all_logins(user, reason="password")
    db.session.flush()


def change_password(user: User, current: str, new: str) -> None:
    """A signed-in user's change: the current password first."""
    if not passwords.verify_password(user.password_hash, current or ""):
        raise ValidationError({"current_password": "That is not your current password."})
    set_password(user, new, actor=user, action="user.password_change", field="new_password")
