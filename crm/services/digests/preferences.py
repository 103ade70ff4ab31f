"""A user's digest settings, and the one-click unsubscribe link that turns digests off."""

from __future__ import annotations

from crm.extensions import db
from crm.lib import links
from crm.models import User
from crm.services import audit

from ..errors import ValidationError

UNSUBSCRIBE_PURPOSE = "unsubscribe"
UNSUBSCRIBE_MAX_AGE = 90 * 24 * 3600


def update_preferences(user: User, *, frequency: str, weekday: int, hour: int, always: bool,
                       actor: User) -> dict[str, list]:
    """Change the digest preferences (flushes, audited); the changes made."""
    if frequency not in ("weekly", "daily", "off"):
        raise ValidationError({"frequency": "Choose weekly, daily or off."})
    if not 0 <= weekday <= 6:
        raise ValidationError({"weekday": "Choose a day of the week."})
    if not 0 <= hour <= 23:
        raise ValidationError({"hour": "Choose an hour between 0 and 23."})
    old = {"digest_frequency": user.digest_frequency, "digest_weekday": user.digest_weekday,
           "digest_hour": user.digest_hour, "digest_always": user.digest_always}
    new = {"digest_frequency": frequency, "digest_weekday": weekday, "digest_hour": hour,
           "digest_always": always}
    changes = audit.diff(old, new)
    if changes:
        for key, value in new.items():
            setattr(user, key, value)
        audit.record("user.digest_preferences", actor=actor, object_type="user",
                     object_id=user.id, changes=changes)
        db.session.flush()
    return changes


def unsubscribe_token(secret_key: str, user: User) -> str:
    return links.make(secret_key, UNSUBSCRIBE_PURPOSE, {"uid": user.id})


def user_for_unsubscribe(secret_key: str, token: str) -> User:
    """The user a still-valid unsubscribe link is for; raises links.LinkError."""
    data = links.peek(secret_key, UNSUBSCRIBE_PURPOSE, token, UNSUBSCRIBE_MAX_AGE)
    user = db.session.get(User, data.get("uid"))
    if user is None:
        raise links.LinkError("invalid")
    return user


def unsubscribe(secret_key: str, token: str) -> User:
    """Use the link once: digests off, audited (flushes). Raises links.LinkError."""
    data = links.consume(secret_key, UNSUBSCRIBE_PURPOSE, token, UNSUBSCRIBE_MAX_AGE)
    user = db.session.get(User, data.get("uid"))
    if user is None:
        raise links.LinkError("invalid")
    old = user.digest_frequency
    user.digest_frequency = "off"
    audit.record("user.digest_unsubscribe", actor=user, object_type="user", object_id=user.id,
                 changes={"digest_frequency": [old, "off"]}, details={"via": "email link"})
    db.session.flush()
    return user
