"""The signed links emailed to a user (invitation, password reset): make one, check one.

Links are made by the email renderers at send time (crm/services/accounts/emails.py), so
no usable token is ever stored in the database.
"""

from __future__ import annotations

from crm.extensions import db
from crm.lib import links
from crm.models import User

INVITATION = "invitation"
PASSWORD_RESET = "password_reset"
INVITATION_MAX_AGE = 72 * 3600
RESET_MAX_AGE = 3600


def make_link_token(secret_key: str, purpose: str, user: User) -> str:
    """A signed token naming the user and their session version (a password change kills it)."""
    return links.make(secret_key, purpose, {"uid": user.id, "v": user.session_version})


def _max_age(purpose: str) -> int:
    return INVITATION_MAX_AGE if purpose == INVITATION else RESET_MAX_AGE


def user_for_link(secret_key: str, purpose: str, token: str, *, consume: bool = False) -> User:
    """The active user a valid, unused, unexpired link names; else links.LinkError.

    `consume=True` also spends the link (flushes; it is spent when the caller commits).
    """
    use = links.consume if consume else links.peek
    data = use(secret_key, purpose, token, _max_age(purpose))
    user = db.session.get(User, data.get("uid")) if isinstance(data.get("uid"), int) else None
    if user is None or not user.active or user.session_version != data.get("v"):
        raise links.LinkError("invalid")
    if purpose == INVITATION and user.password_hash:
        raise links.LinkError("used")
    return user
