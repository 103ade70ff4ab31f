"""Reading an upload: bytes → text (UTF-8, else Latin-1, and say so) → header and rows.

Refuses, with a message a person can act on, what is not a CSV file: empty, too large, a
spreadsheet workbook, binary data, a file with no header or no data rows.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError


@dataclass
class Decoded:
    text: str
    encoding: str
    #: shown to the user, e.g. that the file was read as Latin-1
    note: str | None = None


def decode_upload(data: bytes, filename: str, max_bytes: int) -> Decoded:
    """The file's text, or ValidationError({'file': a message a person can act on})."""
    name = (filename or "").lower()
    if not data:
        raise ValidationError({"file": "The file is empty."})
    if len(data) > max_bytes:
        raise ValidationError({"file": f"The file is {len(data) / 1e6:.1f} MB; the limit is "
                                       f"{max_bytes / 1e6:.1f} MB. Split it into smaller files."})
    if data[:4] == b"PK\x03\x04" or name.endswith((".xlsx", ".xls", ".ods")):
        raise ValidationError({"file": "This looks like a spreadsheet workbook, not CSV. "
                                       "Save it as “CSV UTF-8” and upload that."})
    if name and not name.endswith((".csv", ".txt", ".tsv")):
        raise ValidationError({"file": "Upload a .csv file."})
    if b"\x00" in data:  # anywhere: PostgreSQL cannot store a NUL in the job's text
        raise ValidationError({"file": "This is not a text CSV file (it contains binary data)."})
    try:
        text = data.decode("utf-8-sig")
        decoded = Decoded(text, "utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        decoded = Decoded(text, "latin-1", "The file is not UTF-8; it was read as Latin-1 "
                                           "(ISO-8859-1). Check that accented names look right "
                                           "below, or re-save the file as “CSV UTF-8”.")
    if not text.strip():
        raise ValidationError({"file": "The file is empty."})
    return decoded


def read_table(text: str) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a CSV text; the delimiter (comma, semicolon, tab) is detected."""
    sample = text[:20000]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        reader = csv.reader(io.StringIO(text), dialect)
        table = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise ValidationError({"file": f"This file could not be read as CSV: {exc}."}) from None
    if not table:
        raise ValidationError({"file": "The file is empty."})
    header = [h.strip() for h in table[0]]
    if len(header) < 2 or not any(h for h in header):
        raise ValidationError({"file": "This does not look like CSV with a header row "
                                       "(name, country, sector, …)."})
    if len(table) < 2:
        raise ValidationError({"file": "The file has a header row but no data rows."})
    return header, table[1:]
