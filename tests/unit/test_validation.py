"""crm.services.validation: the shared field validators (no database)."""

from __future__ import annotations

import pytest

from crm.services.errors import ValidationError
from crm.services.validation import (
    SENSITIVITY_CHOICE,
    check_sensitivity,
    clean_url,
    collect,
    parse_id,
)


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), ("12", 12), (7, 7)])
def test_parse_id_reads_ids_and_blank(value, expected):
    assert parse_id(value, "owner_id") == expected


@pytest.mark.parametrize("value", [True, "x", [1], "1.5"])
def test_parse_id_refuses_anything_else_with_the_callers_message(value):
    with pytest.raises(ValidationError) as caught:
        parse_id(value, "owner_id", "Choose an owner from the list.")
    assert caught.value.fields == {"owner_id": "Choose an owner from the list."}


def test_sensitivity_blank_is_allowed_only_when_optional():
    assert check_sensitivity("", optional=True) is None
    assert check_sensitivity("restricted") == "restricted"
    for value in ("", None, "secret"):
        with pytest.raises(ValidationError) as caught:
            check_sensitivity(value, "fu.sensitivity")
        assert caught.value.fields == {"fu.sensitivity": SENSITIVITY_CHOICE}


def test_collect_keeps_every_message_and_the_clean_shape_carries_on():
    errors: dict[str, str] = {}
    assert collect(errors, parse_id, "x", "a") is None
    assert collect(errors, check_sensitivity, "standard", "b") == "standard"
    assert clean_url("example.org", errors) == "https://example.org"
    assert clean_url("not a site", errors, "c") == "https://not a site"
    assert errors == {"a": "Choose a valid option.",
                      "c": "Enter a web address such as https://www.example.org."}
