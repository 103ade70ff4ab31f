"""Invitations: create a user without a password and queue (again) the email that lets
them choose one."""

from __future__ import annotations

import secrets

from crm.models import User
from crm.services import audit, deliveries
from crm.services.accounts import users

from ..errors import ValidationError
from .email_links import INVITATION
from .profiles import validate_profile


def invite(actor: User, *, email: str, name: str, role: str, timezone: str,
           region_scope: str | None = None) -> tuple[User, list[int]]:
    """Create a user without a password and queue their invitation email."""
    errors = validate_profile(name=name, timezone=timezone, role=role, region_scope=region_scope)
    if errors:
        raise ValidationError(errors)
    try:
        user = users.create_user(email, name, role, None, timezone=timezone,
                                 region_scope=region_scope or None, actor=actor)
    except users.UserError as exc:
        raise ValidationError({"email": str(exc)}) from None
    return user, queue_invitation(user, actor)


def queue_invitation(user: User, actor: User) -> list[int]:
    """Queue (another) invitation email for a user who has not set a password yet."""
    if user.password_hash or not user.active:
        raise ValidationError({"__all__": "This user has already accepted the invitation."})
    audit.record("user.invite", actor=actor, object_type="user", object_id=user.id,
                 details={"email": user.email})
    return deliveries.insert_ignore([{
        "kind": INVITATION,
        "recipient_id": user.id,
        "recipient_email": user.email,
        "dedupe_key": f"invitation:{user.id}:{secrets.token_hex(8)}",
        "payload": {"user_id": user.id, "invited_by": actor.name},
    }])
