"""Strict JSON field types for the API schemas.

Marshmallow's defaults are lenient (``"yes"`` is a boolean, ``True`` an integer, ``"5"``
an integer in a JSON body). An API contract should say exactly what it accepts, so these
reject anything the OpenAPI document does not describe — Schemathesis checks that.
They also refuse what the database cannot store (NUL bytes, lone surrogates, integers
beyond 32 bits, years no time zone arithmetic survives) so bad input is a 422, never a 500.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from marshmallow import ValidationError, fields, validate

from crm.lib import countries
from crm.models.enums import SENSITIVITIES

#: the largest id a 32-bit INTEGER column holds
MAX_ID = 2**31 - 1
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
_DIGITS = re.compile(r"^[0-9]{1,10}$")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class Text(fields.String):
    """A string that PostgreSQL can store: no NUL byte, valid UTF-8."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("Must not contain NUL characters.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("Must be valid Unicode text.") from None
        return text


class StrictBool(fields.Boolean):
    """JSON `true` / `false` only."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean.")
        return value


class Id(fields.Integer):
    """A record id: a JSON integer (not a string, not a boolean) in 1..2**31-1."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("validate", validate.Range(min=1, max=MAX_ID))
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError("Not a valid integer.")
        return super()._deserialize(value, attr, data, **kwargs)


class QueryInt(fields.Integer):
    """An integer in the query string: digits only (no sign, spaces or decimals)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not _DIGITS.match(value):
            raise ValidationError("Not a valid integer.")
        return super()._deserialize(value, attr, data, **kwargs)


class Moment(fields.AwareDateTime):
    """ISO 8601 with an offset (naive times are refused), between 1900 and 2200."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("metadata", {})
        kwargs["metadata"].setdefault(
            "description", "ISO 8601 date-time with an offset, e.g. 2026-03-01T14:30:00+01:00")
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Not a valid datetime.")
        try:
            moment = super()._deserialize(value, attr, data, **kwargs)
            moment = moment.astimezone(UTC)
        except OverflowError:
            raise ValidationError("The date is out of range.") from None
        if not EARLIEST <= moment < LATEST:
            raise ValidationError("The date must be between 1900 and 2200.")
        return moment


class Day(fields.Date):
    """A calendar day as a JSON string YYYY-MM-DD (no time, no other spelling)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("metadata", {})
        kwargs["metadata"].setdefault("description", "a date as YYYY-MM-DD")
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not _DAY.match(value):
            raise ValidationError("Not a valid date: use YYYY-MM-DD.")
        return super()._deserialize(value, attr, data, **kwargs)


def enum(values: tuple[str, ...], **kwargs) -> Text:
    """A string limited to one of `values` (documented as an enum)."""
    return Text(validate=validate.OneOf(values), **kwargs)


def country(**kwargs) -> Text:
    """ISO 3166-1 alpha-2, upper-cased on load."""
    return Country(validate=validate.Length(equal=2),
                   metadata={"description": "ISO 3166-1 alpha-2 country code",
                             "pattern": "^[A-Za-z]{2}$"}, **kwargs)


class Country(Text):
    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs)
        if not countries.is_country(code):
            raise ValidationError(f"Unknown country code {code!r}.")
        return code.upper()


def sensitivity(**kwargs) -> Text:
    return enum(SENSITIVITIES, **kwargs)


def text(max_length: int, *, required: bool = False, allow_none: bool = False,
         min_length: int | None = None, **kwargs) -> Text:
    """A string of `min_length` to `max_length` characters."""
    return Text(required=required, allow_none=allow_none,
                validate=validate.Length(min=min_length, max=max_length), **kwargs)


def ids(max_items: int = 200, **kwargs) -> fields.List:
    return fields.List(Id(), validate=validate.Length(max=max_items), **kwargs)
