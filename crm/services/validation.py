"""The small field validators the services share: ids, sensitivity, text, email, URL.

Two shapes, as the services use them: `check_*` / `parse_id` raise
`ValidationError({field: message})`; `clean_*` add the message to an `errors` dict and
carry on, so a form shows every field's problem at once. `collect` turns the first
shape into the second.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from crm.models.enums import SENSITIVITIES

from .errors import ValidationError

T = TypeVar("T")

#: the refusal for a sensitivity that is not one of SENSITIVITIES
SENSITIVITY_CHOICE = "Choose standard, restricted or confidential."


def collect(errors: dict[str, str], check: Callable[..., T], *args: Any,
            **kwargs: Any) -> T | None:
    """`check(*args, **kwargs)`, or None with its message added to `errors`."""
    try:
        return check(*args, **kwargs)
    except ValidationError as exc:
        errors.update(exc.fields)
        return None


def parse_id(value: Any, field: str, message: str = "Choose a valid option.") -> int | None:
    """A record id from a form or JSON value; blank is None; True/False or text is refused."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValidationError({field: message})
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError({field: message}) from None


def check_sensitivity(value: Any, field: str = "sensitivity", *,
                      optional: bool = False) -> str | None:
    """One of SENSITIVITIES (blank is None when `optional`)."""
    if optional and value in (None, ""):
        return None
    if value not in SENSITIVITIES:
        raise ValidationError({field: SENSITIVITY_CHOICE})
    return value


def clean_text(value: Any, limit: int, field: str, errors: dict[str, str],
               required: bool = False) -> str | None:
    """Stripped text of at most `limit` characters; blank is None (or an error if required)."""
    text = ("" if value is None else str(value)).strip()
    if not text:
        if required:
            errors[field] = "This field is required."
        return None
    if len(text) > limit:
        errors[field] = f"At most {limit} characters (you gave {len(text)})."
    return text


def clean_url(value: Any, errors: dict[str, str], field: str = "website") -> str | None:
    """An http(s) URL; a bare domain gets https:// in front."""
    url = clean_text(value, 500, field, errors)
    if not url:
        return None
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or "." not in host or " " in url:
        errors[field] = "Enter a web address such as https://www.example.org."
    return url


def clean_email(value: Any, errors: dict[str, str], field: str = "email") -> str | None:
    """A syntactically valid address (no DNS look-up), normalised by email-validator."""

    email = clean_text(value, 254, field, errors)
    if not email:
        return None
    try:
        return validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        errors[field] = str(exc)
        return email
