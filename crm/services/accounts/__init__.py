"""Account lifecycle: invitations, password set/reset/change, role and scope changes,
deactivation, two-factor enrolment and the network-wide two-factor requirement.

Plain functions over `db.session`: they flush and never commit. The caller commits, then
enqueues `tasks.delivery.send` with the ledger ids these functions return.
Links are made by the email renderers at send time (crm/services/account_emails.py), so
no usable token is ever stored in the database.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from crm.extensions import db
from crm.models import User
from crm.models.enums import ROLES
from crm.models.settings import SiteSetting
from crm.models.user import UserLogin

from .. import (
    account_emails,
    audit,
    countries,
    deliveries,
    links,
    password_policy,
    passwords,
    timeutil,
    tokens,
    totp,
    users,
)
from ..errors import ValidationError

INVITATION = "invitation"
PASSWORD_RESET = "password_reset"
INVITATION_MAX_AGE = 72 * 3600
RESET_MAX_AGE = 3600
#: one reset email per user per this many seconds, whatever the number of requests
RESET_EMAIL_WINDOW = 300
REQUIRE_2FA_KEY = "require_two_factor"
TWO_FACTOR_ROLES = ("admin", "manager")
SECURITY_ALERT = "security_alert"
#: a sign-in's `last_seen_at` is written at most this often (reads stay write-free)
LOGIN_TOUCH_EVERY = timedelta(minutes=5)

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


# --- sign-ins ------------------------------------------------------------------------------

def start_login(user: User, *, remember: bool, lifetime: timedelta) -> UserLogin:
    """Record a new sign-in; `user.get_id()` now carries its nonce into the session and the
    remember cookie. `lifetime` is its absolute limit. Flushes."""
    now = timeutil.now_utc()
    stale = now - timedelta(days=1)
    db.session.execute(delete(UserLogin).where(
        UserLogin.user_id == user.id,
        or_(UserLogin.expires_at < stale, UserLogin.ended_at < stale)))
    login = UserLogin(user_id=user.id, nonce=secrets.token_urlsafe(32), remember=remember,
                      created_at=now, last_seen_at=now, expires_at=now + lifetime)
    db.session.add(login)
    db.session.flush()
    user.login_nonce = login.nonce
    return login


def parse_login_id(login_id: str | None) -> tuple[int, int, str] | None:
    """`<user id>:<session version>:<nonce>` as stored by Flask-Login, else None."""
    parts = (login_id or "").split(":")
    if len(parts) != 3 or not parts[2]:
        return None
    try:
        return int(parts[0]), int(parts[1]), parts[2]
    except ValueError:
        return None


def user_for_login(login_id: str | None, *, idle: timedelta) -> tuple[User, UserLogin] | None:
    """The active user of a live sign-in (one statement), else None.

    Dead: another session version (password change, deactivation), ended (sign-out, idle
    timeout), past its absolute lifetime, or unseen for longer than `idle` (+ the touch lag).
    """
    parsed = parse_login_id(login_id)
    if parsed is None:
        return None
    user_id, version, nonce = parsed
    row = db.session.execute(
        select(User, UserLogin).join(UserLogin, UserLogin.user_id == User.id)
        .where(User.id == user_id, UserLogin.nonce == nonce)).first()
    if row is None:
        return None
    user, login = row
    now = timeutil.now_utc()
    if (not user.active or user.session_version != version or login.ended_at is not None
            or login.expires_at <= now or now - login.last_seen_at > idle + LOGIN_TOUCH_EVERY):
        return None
    user.login_nonce = nonce
    return user, login


def touch_login(login: UserLogin) -> bool:
    """Move the sign-in's server-side idle clock (at most every LOGIN_TOUCH_EVERY).

    Returns True when a write was made; the caller commits it.
    """
    now = timeutil.now_utc()
    if now - login.last_seen_at < LOGIN_TOUCH_EVERY:
        return False
    db.session.execute(update(UserLogin).where(UserLogin.id == login.id)
                       .values(last_seen_at=now).execution_options(synchronize_session=False))
    return True


def end_login(login_id: str | None, *, reason: str) -> bool:
    """End one sign-in (sign-out, idle timeout): its session and remember cookie die, copies
    included. Flushes; True if a live sign-in was ended."""
    parsed = parse_login_id(login_id)
    if parsed is None:
        return False
    result = db.session.execute(
        update(UserLogin).where(UserLogin.nonce == parsed[2], UserLogin.user_id == parsed[0],
                                UserLogin.ended_at.is_(None))
        .values(ended_at=timeutil.now_utc(), ended_reason=reason)
        .execution_options(synchronize_session=False))
    db.session.flush()
    return bool(result.rowcount)


def end_all_logins(user: User, *, reason: str) -> None:
    """End every sign-in of `user` (the session version already kills them; this records it)."""
    db.session.execute(
        update(UserLogin).where(UserLogin.user_id == user.id, UserLogin.ended_at.is_(None))
        .values(ended_at=timeutil.now_utc(), ended_reason=reason[:20])
        .execution_options(synchronize_session=False))


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
        from ..access import Forbidden

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


class TwoFactorLocked(Exception):
    """Too many wrong codes for this account: its second step is closed until `until`."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"two-factor locked until {until.isoformat()}")
        self.until = until


def two_factor_locked_until(user: User) -> datetime | None:
    until = user.two_factor_locked_until
    return until if until is not None and until > timeutil.now_utc() else None


def record_two_factor_failure(user: User, *, max_failures: int, lockout: timedelta,
                              ip: str | None = None) -> list[int]:
    """Count a wrong code against the account (atomic, so parallel guesses all count).

    The `max_failures`-th in a row locks the account's second step for `lockout`, audits it
    and queues an email to the owner (whoever got this far knows their password). Returns
    the ledger ids to enqueue after the caller commits.
    """
    failures = db.session.scalar(
        update(User).where(User.id == user.id)
        .values(two_factor_failures=User.two_factor_failures + 1)
        .returning(User.two_factor_failures).execution_options(synchronize_session=False))
    if failures is None or failures < max_failures:
        return []
    now = timeutil.now_utc()
    until = now + lockout
    db.session.execute(update(User).where(User.id == user.id)
                       .values(two_factor_failures=0, two_factor_locked_until=until)
                       .execution_options(synchronize_session=False))
    audit.record("auth.two_factor_locked", actor=None, object_type="user", object_id=user.id,
                 details={"failures": failures, "until": until.isoformat()})
    db.session.flush()
    return deliveries.insert_ignore([{
        "kind": SECURITY_ALERT,
        "recipient_id": user.id,
        "recipient_email": user.email,
        "dedupe_key": f"security_alert:two_factor_lockout:{user.id}:{int(until.timestamp())}",
        "payload": {"user_id": user.id, "event": "two_factor_lockout", "failures": failures,
                    "at": now.isoformat(), "until": until.isoformat(), "ip": ip},
    }])


def second_factor_passed(user: User) -> None:
    """A right code: the count of wrong ones starts again."""
    if user.two_factor_failures:
        user.two_factor_failures = 0
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
