"""One data row on its own: normalise its cells (country, sector, stage, URL, emails, tags,
member flag) and list what is wrong with it, before any database lookup.

The field rules are the partner service's own (`validation.clean_url`, `clean_email`, …), so
an imported partner obeys the same rules as one typed into the web form or the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pycountry

from crm.models.enums import SECTOR_LABELS, SECTORS, STAGES

from .. import partners, validation
from .mapping import norm_header

TRUE = {"1", "yes", "y", "true", "x", "member", "oui", "sí", "si"}
FALSE = {"0", "no", "n", "false", "", "non"}


@cache
def country_code(value: str) -> str | None:
    """ISO alpha-2 from a code (alpha-2/alpha-3) or an English country name."""
    value = value.strip()
    if not value:
        return None
    aliases = {"uk": "GB", "usa": "US", "u.s.": "US", "u.s.a.": "US", "russia": "RU",
               "south korea": "KR", "north korea": "KP", "vietnam": "VN", "laos": "LA"}
    if value.lower() in aliases:
        return aliases[value.lower()]
    try:
        return pycountry.countries.lookup(value).alpha_2
    except LookupError:
        return None


def _norm_word(text: str) -> str:
    return norm_header(text.replace("&", " and "))


_SECTOR_WORDS = {_norm_word(k): k for k in SECTORS} | {
    _norm_word(v): k for k, v in SECTOR_LABELS.items()}


def sector_code(value: str) -> str | None:
    """Sector code from a code or its label ('Travel & tourism', 'travel_tourism')."""
    return _SECTOR_WORDS.get(_norm_word(value))


@dataclass
class RowCheck:
    """One data row: its cleaned values, problems (which fail it) and notes."""

    line: int
    name: str
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: an existing partner with the same name and country (id), or None
    partner_id: int | None = None
    #: the first row of this file describing the same partner (line), or None
    same_as_line: int | None = None
    contact_exists: bool = False
    #: why the row was refused with WITHHELD: for administrators' eyes only
    withheld: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def clean_row(line: int, raw: dict[str, str]) -> RowCheck:
    """The row's cleaned values and problems; `raw` is {field: cell} after the mapping."""
    get = lambda key: (raw.get(key) or "").strip()  # noqa: E731
    check = RowCheck(line, get("name"))
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if not check.name:
        check.problems.append("missing name")
    elif len(check.name) > partners.NAME_MAX:
        check.problems.append(f"name longer than {partners.NAME_MAX} characters")
    values["name"] = check.name
    country = country_code(get("country"))
    if not get("country"):
        check.problems.append("missing country")
    elif not country:
        check.problems.append(f"unknown country {get('country')!r}")
    values["country"] = country
    sector = sector_code(get("sector")) if get("sector") else None
    if not get("sector"):
        check.problems.append("missing sector")
    elif not sector:
        check.problems.append(f"unknown sector {get('sector')!r}")
    values["sector"] = sector
    if get("stage"):
        stage = get("stage").lower()
        if stage not in STAGES:
            check.problems.append(f"unknown stage {get('stage')!r}")
        values["stage"] = stage
    if get("website"):
        values["website"] = validation.clean_url(get("website"), errors)
    if get("email"):
        values["email"] = validation.clean_email(get("email"), errors, "email")
    if get("description"):
        values["description"] = validation.clean_text(get("description"),
                                                     partners.DESCRIPTION_MAX,
                                                     "description", errors)
    if "is_member" in raw and get("is_member").lower() in TRUE | FALSE:
        values["is_member"] = get("is_member").lower() in TRUE
    elif get("is_member"):
        check.problems.append(f"member must be yes or no, not {get('is_member')!r}")
    if get("tags"):
        tags = [partners.normalise_tag(t) for t in get("tags").replace(",", ";").split(";")]
        values["tags"] = sorted({t for t in tags if t and len(t) <= partners.TAG_MAX})
    if get("contact_email") or get("contact_name"):
        values["contact_name"] = get("contact_name") or get("contact_email")
        values["contact_title"] = get("contact_title")[:200] or None
        values["contact_phone"] = get("contact_phone")[:50] or None
        if get("contact_email"):
            values["contact_email"] = validation.clean_email(get("contact_email"), errors,
                                                           "contact_email")
    labels = {"email": "bad partner email", "contact_email": "bad contact email",
              "website": "bad website"}
    for key, message in errors.items():
        check.problems.append(f"{labels.get(key, key)}: {message}")
    check.values = values
    return check
