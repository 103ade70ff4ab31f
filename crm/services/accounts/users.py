"""Users: creation, authentication and lookups."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select

from crm.extensions import db
from crm.lib import passwords, timeutil
from crm.models import User
from crm.models.enums import ROLES
from crm.services import audit


class UserError(ValueError):
    """A user could not be created or changed; the message says why."""


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def create_user(
    email: str,
    name: str,
    role: str = "staff",
    password: str | None = None,
    *,
    timezone: str = "UTC",
    region_scope: str | None = None,
    actor: User | None = None,
) -> User:
    """Create a user (flushes). Raises UserError on a duplicate email or unknown role."""

    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise UserError(str(exc)) from None
    if find_by_email(email):
        raise UserError(f"a user with the email {email} already exists")
    if not timeutil.is_timezone(timezone):
        raise UserError(f"unknown time zone {timezone}")
    user = User(
        email=email.lower(),
        name=name.strip(),
        role=role,
        timezone=timezone,
        region_scope=region_scope,
        password_hash=passwords.hash_password(password) if password else None,
        password_changed_at=timeutil.now_utc() if password else None,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", actor=actor, object_type="user", object_id=user.id,
                 changes={"email": [None, user.email], "role": [None, role]})
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None. Same work either way."""
    user = find_by_email(email)
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = timeutil.now_utc()
    return user
