"""Two-factor enrolment: the network-wide requirement, turning it on and off, recovery codes."""

from __future__ import annotations

from crm.extensions import db
from crm.lib import passwords, totp
from crm.models import User
from crm.models.settings import SiteSetting
from crm.services import audit

from ..errors import ValidationError

REQUIRE_2FA_KEY = "require_two_factor"
TWO_FACTOR_ROLES = ("admin", "manager")


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
