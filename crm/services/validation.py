"""The small field validators the services share: ids, sensitivity, text, email, URL.

Whatever they are given (any type, any Unicode, any length), they either return a value
the database can store or report the field: they never raise anything but ValidationError
(tests/unit/test_validators_properties.py). Text that PostgreSQL cannot store (a NUL byte,
a lone surrogate) and control characters other than tab and newlines are refused
(crm.lib.safetext); ids are 1..2**31-1, the range of an id column.

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

from crm.lib import safetext
from crm.models.enums import SENSITIVITIES, SENSITIVITY_RANK

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
    if isinstance(value, bool | float):
        raise ValidationError({field: message})
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ValidationError({field: message}) from None
    if not safetext.is_id(number):
        raise ValidationError({field: message})
    return number


def parse_ids(values: Any, field: str, message: str = "Choose valid options.") -> list[int]:
    """Distinct record ids, sorted, from a list of form or JSON values (None is [])."""
    if values in (None, ""):
        return []
    if isinstance(values, str | bytes | dict) or not hasattr(values, "__iter__"):
        raise ValidationError({field: message})
    found = set()
    for value in values:
        number = parse_id(value, field, message)
        if number is None:
            raise ValidationError({field: message})
        found.add(number)
    return sorted(found)


def check_sensitivity(value: Any, field: str = "sensitivity", *,
                      optional: bool = False) -> str | None:
    """One of SENSITIVITIES (blank is None when `optional`)."""
    if optional and value in (None, ""):
        return None
    if value not in SENSITIVITIES:
        raise ValidationError({field: SENSITIVITY_CHOICE})
    return value


def check_sensitivity_floor(value: Any, floor: str, noun: str,
                            field: str = "sensitivity") -> str:
    """One of SENSITIVITIES and never below `floor` (its partner's): "A contact cannot be
    less sensitive than its partner (restricted)." names `noun`."""
    value = check_sensitivity(value, field)
    if SENSITIVITY_RANK[value] < SENSITIVITY_RANK[floor]:
        raise ValidationError({field: f"{noun} cannot be less sensitive than its partner "
                                      f"({floor})."})
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
        return text[:limit]
    if safetext.unstorable(text):
        errors[field] = safetext.UNSTORABLE_MESSAGE
        return None
    if safetext.has_control(text):
        errors[field] = safetext.CONTROL_MESSAGE
    return text


def check_text(value: Any, limit: int, field: str, *, required: bool = False) -> str | None:
    """`clean_text` raising ValidationError({field: message}) instead."""
    errors: dict[str, str] = {}
    text = clean_text(value, limit, field, errors, required=required)
    if errors:
        raise ValidationError(errors)
    return text


def clean_url(value: Any, errors: dict[str, str], field: str = "website") -> str | None:
    """An http(s) URL; a bare domain gets https:// in front."""
    url = clean_text(value, 500, field, errors)
    if not url or field in errors:
        return url
    if "://" not in url:
        url = "https://" + url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:  # "]x", "[::1", "http://h:port": not a URL at all
        host, parts = "", None
    if parts is None or parts.scheme.lower() not in ("http", "https") or "." not in host \
            or any(c.isspace() for c in url):
        errors[field] = "Enter a web address such as https://www.example.org."
    return url


def clean_email(value: Any, errors: dict[str, str], field: str = "email") -> str | None:
    """A syntactically valid address (no DNS look-up), normalised by email-validator."""

    email = clean_text(value, 254, field, errors)
    if not email or field in errors:
        return email
    try:
        return validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        errors[field] = str(exc)
        return email
    except (ValueError, UnicodeError):  # an IDNA corner email-validator does not wrap
        errors[field] = "Enter an email address such as name@example.org."
        return email
