"""CSV safety: formula neutralisation and the UTF-8 BOM."""

from __future__ import annotations

import csv
import io

import pytest

from crm.lib import csvsafe


@pytest.mark.parametrize(("value", "expected"), [
    ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
    ("+1 555 0100", "'+1 555 0100"),
    ("-2+3", "'-2+3"),
    ("@cmd", "'@cmd"),
    ("\tlead tab", "'\tlead tab"),
    ("\rcarriage", "'\rcarriage"),
    ("Fundación Renacer", "Fundación Renacer"),
    ("a=b", "a=b"),
    ("", ""),
    (None, ""),
    (-3, "-3"),          # a number we produced is data, not a formula
    (True, "yes"),
])
def test_neutralise(value, expected):
    assert csvsafe.neutralise(value) == expected


def test_stream_has_bom_once_and_round_trips():
    text = csvsafe.to_text(["name", "note"], [["Crème", "=1+1"], ["Ñandú", 'say "hi"']])
    assert text.startswith("\ufeffname,note\r\n")
    assert text.count("\ufeff") == 1
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows == [["name", "note"], ["Crème", "'=1+1"], ["Ñandú", 'say "hi"']]
