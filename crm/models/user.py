"""Users, their API tokens, and single-use link tokens."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db

from ._types import UTCDateTime, enum_check, utcnow
from .enums import DIGEST_FREQUENCIES, ROLES


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        enum_check("role", ROLES),
        enum_check("digest_frequency", DIGEST_FREQUENCIES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stored as typed; uniqueness is case-insensitive (see the functional index)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="staff")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    #: UN M49 region a manager is responsible for; None means the whole network
    region_scope: Mapped[str | None] = mapped_column(String(64), index=True)
    digest_frequency: Mapped[str] = mapped_column(String(10), default="weekly")
    digest_weekday: Mapped[int] = mapped_column(Integer, default=0)  #: 0 = Monday
    digest_hour: Mapped[int] = mapped_column(Integer, default=8)
    #: send the digest even when it has nothing in it
    digest_always: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    #: bumped on password change / deactivation: sessions carrying an older value end
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: argon2 hashes of unused recovery codes
    recovery_codes: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: wrong second-factor codes in a row (reset by a right one or a lockout)
    two_factor_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: second-factor sign-in refused for this account until then (too many wrong codes)
    two_factor_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", lazy="raise")

    #: the nonce of the sign-in this object was loaded for (set by the login and the user
    #: loader; not a column: one user has many sign-ins)
    login_nonce = None  # str | None

    # Flask-Login: the session and the remember cookie store id, session_version and the
    # sign-in's nonce, so a password change kills every sign-in and a sign-out kills its own
    def get_id(self) -> str:
        if self.login_nonce:
            return f"{self.id}:{self.session_version}:{self.login_nonce}"
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.active)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"

    @property
    def can_write(self) -> bool:
        return self.role != "viewer"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


Index("uq_users_email_lower", func.lower(User.email), unique=True)


class ApiToken(db.Model):
    """A personal API token; only its SHA-256 hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: first characters of the token, shown so people can tell tokens apart
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


class UserLogin(db.Model):
    """One sign-in (one browser): its nonce rides in the session and the remember cookie.

    Ending the row (sign-out, idle timeout) kills both cookies server-side, including
    copies an attacker may hold; `expires_at` is the sign-in's absolute lifetime and
    `last_seen_at` (written at most every few minutes) its server-side idle clock.
    """

    __tablename__ = "user_logins"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: sign_out, idle, replaced (password changed in this browser)
    ended_reason: Mapped[str | None] = mapped_column(String(20))


class UsedLinkToken(db.Model):
    """Single-use signed links (invitations, resets, reminder actions, unsubscribe).

    A link's id is inserted here when used; the unique key makes a second use fail.
    """

    __tablename__ = "used_link_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
