"""Time-based one-time passwords (RFC 6238, via pyotp) and recovery codes.

A code is accepted once: its time step is recorded in `used_link_tokens` (primary key
`totp:<user id>:<step>`), so a code seen over someone's shoulder cannot be replayed.
Recovery codes are stored as argon2 hashes and each works once.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pyotp
from sqlalchemy import select

from crm.extensions import db
from crm.lib import passwords
from crm.models import UsedLinkToken, User

ISSUER = "Partner CRM"
RECOVERY_CODE_COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// URI an authenticator app imports."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """A QR code of `uri` as an SVG data: URI (segno), for an <img> under our CSP."""
    import segno

    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _clean(code: str | None) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def verify_code(user: User, code: str | None, secret: str | None = None) -> bool:
    """True for a current code not used before (one step of clock drift allowed). Flushes."""
    secret = secret or user.totp_secret
    code = _clean(code)
    if not secret or not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(secret)
    step = totp.timecode(datetime.now(UTC))
    for candidate in (step, step - 1, step + 1):
        if not secrets.compare_digest(totp.generate_otp(candidate), code):
            continue
        jti = f"totp:{user.id}:{candidate}"
        if db.session.scalar(select(UsedLinkToken.jti).where(UsedLinkToken.jti == jti)):
            return False
        db.session.add(UsedLinkToken(jti=jti, purpose="totp"))
        db.session.flush()
        return True
    return False


def new_recovery_codes() -> list[str]:
    """Ten fresh codes like `k7pm-3xqa-9dcv` (shown once; store `hash_codes(...)`)."""
    def one() -> str:
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        return "-".join(raw[i:i + 4] for i in range(0, 12, 4))

    return [one() for _ in range(RECOVERY_CODE_COUNT)]


def hash_codes(codes: list[str]) -> list[str]:
    return [passwords.hash_password(_clean(code)) for code in codes]


def use_recovery_code(user: User, code: str | None) -> bool:
    """True if `code` is one of the user's unused recovery codes; it is then spent."""
    code = _clean(code)
    if len(code) != 12:
        return False
    remaining = list(user.recovery_codes or [])
    for index, stored in enumerate(remaining):
        if passwords.verify_password(stored, code):
            del remaining[index]
            user.recovery_codes = remaining
            return True
    return False
