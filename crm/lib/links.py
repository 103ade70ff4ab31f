"""Signed, expiring, single-use links (invitations, password resets, reminder actions,
unsubscribe).

A link carries a signed payload with a random `jti`. `peek` checks signature and age
without using it (for the confirmation page a GET shows); `consume` also records the
`jti` in `used_link_tokens`, whose primary key makes a second use fail — so a mail
scanner that follows a link changes nothing, and a link works once.
"""

from __future__ import annotations

import secrets
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from crm.extensions import db
from crm.models import UsedLinkToken


class LinkError(ValueError):
    """The link is invalid, expired or already used; `reason` says which, for the page."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _serializer(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=f"crm-link:{purpose}")


def make(secret_key: str, purpose: str, data: dict[str, Any]) -> str:
    """A signed token for `purpose` carrying `data` (JSON) and a fresh jti."""
    return _serializer(secret_key, purpose).dumps({**data, "jti": secrets.token_hex(16)})


def peek(secret_key: str, purpose: str, token: str, max_age: int) -> dict[str, Any]:
    """The payload if the signature is good, it is younger than `max_age` s and unused."""
    try:
        data = _serializer(secret_key, purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkError("expired") from None
    except BadSignature:
        raise LinkError("invalid") from None
    if not isinstance(data, dict) or "jti" not in data:
        raise LinkError("invalid")
    if db.session.scalar(select(UsedLinkToken.jti).where(UsedLinkToken.jti == data["jti"])):
        raise LinkError("used")
    return data


def consume(secret_key: str, purpose: str, token: str, max_age: int) -> dict[str, Any]:
    """Like `peek`, then mark the link used (flushes; the caller commits with the change).

    Two concurrent uses race on the primary key: the loser's commit fails.
    """
    data = peek(secret_key, purpose, token, max_age)
    db.session.add(UsedLinkToken(jti=data["jti"], purpose=purpose))
    db.session.flush()
    return data
