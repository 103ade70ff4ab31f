"""The sign-in's second step: check a code, count wrong ones, lock the step and alert the
owner after too many."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from crm.extensions import db
from crm.lib import timeutil, totp
from crm.models import User
from crm.services import audit, deliveries

SECURITY_ALERT = "security_alert"


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
