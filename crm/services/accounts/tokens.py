"""Personal API tokens: shown once, stored as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select

from crm.extensions import db
from crm.lib import timeutil
from crm.models import ApiToken, User
from crm.services import audit

PREFIX = "crm_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str, expires_at: datetime | None = None,
                 actor: User | None = None) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the plain token (never stored)."""
    plain = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name[:100] or "token", token_hash=hash_token(plain),
                     prefix=plain[:10], expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    audit.record("token.create", actor=actor or user, object_type="api_token",
                 object_id=token.id, details={"name": token.name, "user_id": user.id})
    return token, plain


def user_for_token(plain: str) -> tuple[User, ApiToken] | None:
    """The active user behind a valid, unrevoked, unexpired token."""
    if not plain or not plain.startswith(PREFIX):
        return None
    row = db.session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(plain))
    ).first()
    if row is None:
        return None
    token, user = row
    now = timeutil.now_utc()
    if token.revoked_at or (token.expires_at and token.expires_at <= now) or not user.active:
        return None
    return user, token


def revoke(token: ApiToken, actor: User) -> None:
    token.revoked_at = timeutil.now_utc()
    audit.record("token.revoke", actor=actor, object_type="api_token", object_id=token.id)


def revoke_all(user: User, actor: User | None, *, reason: str) -> int:
    """Revoke every live token of `user` (password change/reset, deactivation). Flushes.

    A stolen session must not mint a token that outlives the password it was stolen with.
    """
    now = timeutil.now_utc()
    live = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                     ApiToken.revoked_at.is_(None))).all()
    for token in live:
        token.revoked_at = now
    ids = [token.id for token in live]
    if ids:
        audit.record("token.revoke_all", actor=actor or user, object_type="user",
                     object_id=user.id, details={"reason": reason, "token_ids": sorted(ids)})
    db.session.flush()
    return len(ids)
