"""What text and ids the database can store, checked once for every way input arrives.

PostgreSQL refuses a NUL byte in text, and a lone surrogate (JSON's "\\ud800") cannot be
encoded as UTF-8; either would surface as a server error deep in a flush. Other C0 control
characters (a form feed, an escape, "\\x1a") are storable but never meant, and break the
URL parser, CSV exports and email headers, so the field validators refuse them too; tab,
line feed and carriage return are ordinary text. Record ids are 32-bit INTEGER columns:
a larger number names no record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: the largest id an INTEGER column holds
MAX_ID = 2**31 - 1

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

UNSTORABLE_MESSAGE = "Contains a character that cannot be stored (a NUL byte or invalid Unicode)."
CONTROL_MESSAGE = "Contains a control character; remove it and try again."


def unstorable(text: str) -> bool:
    """True when PostgreSQL could not store `text` (a NUL byte or a lone surrogate)."""
    return bool(_UNSTORABLE.search(text))


def has_control(text: str) -> bool:
    """True for NUL, lone surrogates and C0 controls other than tab, LF and CR (and DEL)."""
    return bool(_CONTROL.search(text))


def first_unstorable(pairs: Iterable[tuple[str, str]]) -> str | None:
    """The name of the first (name, value) pair whose name or value cannot be stored."""
    for name, value in pairs:
        if unstorable(name) or unstorable(value):
            return name
    return None


def printable(text: str, limit: int = 80) -> str:
    """`text` with its unstorable and control characters shown as U+FFFD, cut to `limit`."""
    return _CONTROL.sub("\ufffd", text[:limit])


def is_id(value: int) -> bool:
    """True for an integer an id column can hold (1..MAX_ID)."""
    return 1 <= value <= MAX_ID


def record_id(value: object) -> int:
    """A form value as a record id (a WTForms `coerce`): ValueError unless 1..MAX_ID."""
    number = int(value)  # type: ignore[call-overload]
    if not is_id(number):
        raise ValueError(f"not a record id: {value!r}")
    return number


def optional_record_id(value: object) -> int | None:
    """`record_id`, with blank (and WTForms' rendering of None) as None."""
    if value in (None, "", "None"):
        return None
    return record_id(value)
