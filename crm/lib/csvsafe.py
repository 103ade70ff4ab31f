"""CSV that is safe to open in a spreadsheet: formula neutralisation and a UTF-8 BOM.

A cell beginning with `=`, `+`, `-`, `@`, tab or carriage return would be read as a
formula by Excel/LibreOffice (CSV injection, OWASP); it is prefixed with `'`.
The BOM makes Excel read the file as UTF-8, so accents survive.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

BOM = "\ufeff"
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    """The cell's text, with a leading `'` when a spreadsheet would evaluate it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        # callers format times in the reader's zone (timeutil.iso_local); never microseconds
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        # numbers are data, not formulas: -3 stays a number a spreadsheet can sum
        return str(value)
    text = str(value)
    if text.startswith(_TRIGGERS):
        return "'" + text
    return text


def stream(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """Yield the CSV text chunk by chunk: the BOM and header first, then each row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        chunk = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
        return chunk

    writer.writerow([neutralise(h) for h in header])
    yield BOM + flush()
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
        yield flush()


def to_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The whole CSV as one string (small reports)."""
    return "".join(stream(header, rows))
