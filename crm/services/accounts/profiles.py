"""Who a user is: the profile rules, an admin's changes (role, scope, name, zone, active),
a user's own name and zone, and the statement behind the admin's user list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from crm.extensions import db
from crm.lib import countries, timeutil
from crm.models import User
from crm.models.enums import ROLES
from crm.services import audit
from crm.services.accounts import tokens

from ..access import Forbidden
from ..errors import ValidationError
from .logins import end_all_logins


def validate_profile(*, name: str, timezone: str, role: str | None = None,
                     region_scope: str | None = None) -> dict[str, str]:
    """Field → message for what is wrong with a profile (shared by invitations and edits)."""
    errors: dict[str, str] = {}
    if not (name or "").strip():
        errors["name"] = "Enter a name."
    elif len(name.strip()) > 200:
        errors["name"] = "Use at most 200 characters."
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        errors["name"] = "Use letters, spaces and punctuation only (no line breaks)."
    if not timeutil.is_timezone(timezone):
        errors["timezone"] = "Choose a time zone from the list."
    if role is not None and role not in ROLES:
        errors["role"] = "Choose a role from the list."
    if region_scope and region_scope not in countries.regions():
        errors["region_scope"] = "Choose a region from the list."
    return errors


def _active_admin_ids(lock: bool = False) -> list[int]:
    stmt = select(User.id).where(User.role == "admin", User.active.is_(True))
    if lock:
        stmt = stmt.with_for_update()  # two admins demoting each other serialise here
    return list(db.session.scalars(stmt))


def update_user(actor: User, user: User, changes: dict[str, Any]) -> dict[str, list]:
    """Change role, region scope, name, time zone or the active flag (admins only).

    Audited old → new. Deactivation ends the user's sessions at once (session_version) and
    their API tokens stop working (tokens.user_for_token refuses inactive users). The last
    active admin can be neither demoted nor deactivated.
    """
    if not actor.is_admin:
        raise Forbidden("admins only")
    allowed = {"role", "region_scope", "name", "timezone", "active"}
    changes = {k: v for k, v in changes.items() if k in allowed}
    if "region_scope" in changes:
        changes["region_scope"] = changes["region_scope"] or None
    errors = validate_profile(name=changes.get("name", user.name),
                              timezone=changes.get("timezone", user.timezone),
                              role=changes.get("role", user.role),
                              region_scope=changes.get("region_scope"))
    if errors:
        raise ValidationError(errors)
    old = {key: getattr(user, key) for key in changes}
    delta = audit.diff(old, changes)
    if not delta:
        return {}
    stays_admin = changes.get("role", user.role) == "admin" and changes.get("active", user.active)
    if user.is_admin and user.active and not stays_admin:
        others = [i for i in _active_admin_ids(lock=True) if i != user.id]
        if not others:
            field = "active" if "active" in delta else "role"
            raise ValidationError({field: "This is the last active admin: make someone else an "
                                          "admin first."})
    for key, value in changes.items():
        setattr(user, key, value)
    if "active" in delta and not user.active:
        user.session_version = (user.session_version or 1) + 1
        # reactivation must not revive what the deactivation cut off
        tokens.revoke_all(user, actor, reason="user.deactivate")
        end_all_logins(user, reason="deactivated")
    action = "user.deactivate" if delta.get("active") == [True, False] else (
        "user.reactivate" if delta.get("active") == [False, True] else "user.update")
    audit.record(action, actor=actor, object_type="user", object_id=user.id, changes=delta)
    db.session.flush()
    return delta


def update_profile(user: User, *, name: str, timezone: str) -> dict[str, list]:
    """A user's own name and time zone (nothing else: no role, no scope)."""
    errors = validate_profile(name=name, timezone=timezone)
    if errors:
        raise ValidationError(errors)
    delta = audit.diff({"name": user.name, "timezone": user.timezone},
                       {"name": name.strip(), "timezone": timezone})
    if delta:
        user.name, user.timezone = name.strip(), timezone
        audit.record("user.profile", actor=user, object_type="user", object_id=user.id,
                     changes=delta)
        db.session.flush()
    return delta


def list_users(*, q: str = "", role: str = "", status: str = "", region: str = ""):
    """The statement behind /admin/users (the view paginates it)."""
    stmt = select(User).order_by(func.lower(User.name), User.id)
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(func.lower(User.name).like(like) | func.lower(User.email).like(like))
    if role in ROLES:
        stmt = stmt.where(User.role == role)
    if status == "active":
        stmt = stmt.where(User.active.is_(True), User.password_hash.is_not(None))
    elif status == "invited":
        stmt = stmt.where(User.active.is_(True), User.password_hash.is_(None))
    elif status == "inactive":
        stmt = stmt.where(User.active.is_(False))
    if region:
        stmt = stmt.where(User.region_scope == region)
    return stmt
