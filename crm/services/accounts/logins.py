"""Sign-ins: record one, find the live one behind a session or cookie, touch it, end it."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, or_, select, update

from crm.extensions import db
from crm.lib import timeutil
from crm.models import User
from crm.models.user import UserLogin

#: a sign-in's `last_seen_at` is written at most this often (reads stay write-free)
LOGIN_TOUCH_EVERY = timedelta(minutes=5)


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
