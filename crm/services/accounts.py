"""Account lifecycle: invitations, password set/reset/change, role and scope changes,
deactivation, two-factor enrolment and the network-wide two-factor requirement.

Plain functions over `db.session`: they flush and never commit. The caller commits, then
enqueues `tasks.delivery.send` with the ledger ids these functions return.
Links are made by the email renderers at send time (crm/services/account_emails.py), so
no usable token is ever stored in the database.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func, select

from crm.extensions import db
from crm.models import User
from crm.models.enums import ROLES
from crm.models.imports import SiteSetting

from . import (
    account_emails,
    audit,
    countries,
    deliveries,
    links,
    password_policy,
    passwords,
    timeutil,
    totp,
    users,
)
from .errors import ValidationError

INVITATION = "invitation"
PASSWORD_RESET = "password_reset"
INVITATION_MAX_AGE = 72 * 3600
RESET_MAX_AGE = 3600
#: one reset email per user per this many seconds, whatever the number of requests
RESET_EMAIL_WINDOW = 300
REQUIRE_2FA_KEY = "require_two_factor"
TWO_FACTOR_ROLES = ("admin", "manager")

__all__ = ["account_emails"]  # imported for its renderers: emails render wherever this loads


# --- links ------------------------------------------------------------------------------

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


# --- invitations and resets ---------------------------------------------------------------

def _validate_profile(*, name: str, timezone: str, role: str | None = None,
                      region_scope: str | None = None) -> dict[str, str]:
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


def invite(actor: User, *, email: str, name: str, role: str, timezone: str,
           region_scope: str | None = None) -> tuple[User, list[int]]:
    """Create a user without a password and queue their invitation email."""
    errors = _validate_profile(name=name, timezone=timezone, role=role, region_scope=region_scope)
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


# --- passwords ------------------------------------------------------------------------------

def set_password(user: User, password: str, *, actor: User | None, action: str,
                 field: str = "password") -> None:
    """Apply the policy, store the argon2id hash, end every other session of the user."""
    problems = password_policy.problems(password, email=user.email, name=user.name)
    if problems:
        raise ValidationError({field: " ".join(problems)})
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = timeutil.now_utc()
    user.session_version = (user.session_version or 1) + 1
    audit.record(action, actor=actor or user, object_type="user", object_id=user.id)
    db.session.flush()


def change_password(user: User, current: str, new: str) -> None:
    """A signed-in user's change: the current password first."""
    if not passwords.verify_password(user.password_hash, current or ""):
        raise ValidationError({"current_password": "That is not your current password."})
    set_password(user, new, actor=user, action="user.password_change", field="new_password")


# --- administration ---------------------------------------------------------------------

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
        from .access import Forbidden

        raise Forbidden("admins only")
    allowed = {"role", "region_scope", "name", "timezone", "active"}
    changes = {k: v for k, v in changes.items() if k in allowed}
    if "region_scope" in changes:
        changes["region_scope"] = changes["region_scope"] or None
    errors = _validate_profile(name=changes.get("name", user.name),
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
    action = "user.deactivate" if delta.get("active") == [True, False] else (
        "user.reactivate" if delta.get("active") == [False, True] else "user.update")
    audit.record(action, actor=actor, object_type="user", object_id=user.id, changes=delta)
    db.session.flush()
    return delta


def update_profile(user: User, *, name: str, timezone: str) -> dict[str, list]:
    """A user's own name and time zone (nothing else: no role, no scope)."""
    errors = _validate_profile(name=name, timezone=timezone)
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


# --- two-factor ----------------------------------------------------------------------------

def two_factor_required() -> bool:
    setting = db.session.get(SiteSetting, REQUIRE_2FA_KEY)
    return bool(setting and (setting.value or {}).get("enabled"))


def must_enrol(user: User) -> bool:
    """True when the network requires two-factor for this user's role and they lack it."""
    return (user.role in TWO_FACTOR_ROLES and not user.totp_enabled
            and two_factor_required())


def set_two_factor_requirement(actor: User, enabled: bool) -> None:
    setting = db.session.get(SiteSetting, REQUIRE_2FA_KEY)
    old = bool(setting and (setting.value or {}).get("enabled"))
    if setting is None:
        setting = SiteSetting(key=REQUIRE_2FA_KEY)
        db.session.add(setting)
    setting.value = {"enabled": bool(enabled), "roles": list(TWO_FACTOR_ROLES)}
    if old != bool(enabled):
        audit.record("settings.require_two_factor", actor=actor, object_type="site_setting",
                     object_id=REQUIRE_2FA_KEY, changes={"enabled": [old, bool(enabled)]})
    db.session.flush()


def pending_totp_secret(user: User) -> str:
    """The secret being enrolled (created on first visit; not active until confirmed)."""
    if user.totp_enabled:
        raise ValidationError({"__all__": "Two-factor sign-in is already on."})
    if not user.totp_secret:
        user.totp_secret = totp.new_secret()
        db.session.flush()
    return user.totp_secret


def confirm_two_factor(user: User, code: str) -> list[str]:
    """Turn two-factor on once a code from the app matches; returns recovery codes (once)."""
    if user.totp_enabled or not user.totp_secret:
        raise ValidationError({"code": "Start the set-up again."})
    if not totp.verify_code(user, code):
        raise ValidationError({"code": "That code does not match; check the clock on your "
                                       "phone and try the current code."})
    codes = totp.new_recovery_codes()
    user.totp_enabled = True
    user.recovery_codes = totp.hash_codes(codes)
    audit.record("user.two_factor_on", actor=user, object_type="user", object_id=user.id)
    db.session.flush()
    return codes


def regenerate_recovery_codes(user: User, password: str) -> list[str]:
    if not passwords.verify_password(user.password_hash, password or ""):
        raise ValidationError({"password": "That is not your current password."})
    codes = totp.new_recovery_codes()
    user.recovery_codes = totp.hash_codes(codes)
    audit.record("user.recovery_codes", actor=user, object_type="user", object_id=user.id)
    db.session.flush()
    return codes


def disable_two_factor(user: User, password: str) -> None:
    """Turn two-factor off (password required; refused while the network requires it)."""
    if not passwords.verify_password(user.password_hash, password or ""):
        raise ValidationError({"password": "That is not your current password."})
    if user.role in TWO_FACTOR_ROLES and two_factor_required():
        raise ValidationError({"password": "Two-factor sign-in is required for your role."})
    user.totp_enabled = False
    user.totp_secret = None
    user.recovery_codes = None
    audit.record("user.two_factor_off", actor=user, object_type="user", object_id=user.id)
    db.session.flush()


def second_factor_ok(user: User, code: str) -> str | None:
    """'totp' or 'recovery' when `code` passes as a second factor, else None."""
    if totp.verify_code(user, code):
        return "totp"
    if totp.use_recovery_code(user, code):
        audit.record("user.recovery_code_used", actor=user, object_type="user", object_id=user.id,
                     details={"remaining": len(user.recovery_codes or [])})
        return "recovery"
    return None
