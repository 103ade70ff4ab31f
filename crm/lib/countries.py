"""Countries (pycountry) and their UN M49 regions (the `world-countries` data set).

The region table comes from the maintained `world-countries` npm package
(v5.1.0, ODbL), vendored as crm/data/countries.json: code → region, subregion, ISO numeric.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import pycountry

from .text import name_key


@cache
def _region_data() -> dict[str, dict]:
    raw = resources.files("crm").joinpath("data/countries.json").read_text("utf-8")
    return json.loads(raw)


@cache
def country_choices() -> list[tuple[str, str]]:
    """(alpha-2, name) for every ISO 3166-1 country, sorted by name as people read it:
    accents and case ignored ("Åland Islands" after "Afghanistan", "Côte d'Ivoire" before
    "Croatia"), with the same key as the partner search (`text.name_key`)."""
    return sorted(((c.alpha_2, c.name) for c in pycountry.countries),
                  key=lambda c: (name_key(c[1]), c[1]))


def sort_key(code: str) -> str:
    """Sort countries by their shown name (`country_name`), accents and case ignored."""
    return name_key(country_name(code))


@cache
def name_rank() -> dict[str, int]:
    """Alpha-2 code → position when sorted by shown name (for SQL `ORDER BY CASE`)."""
    codes = sorted((c.alpha_2 for c in pycountry.countries), key=lambda c: (sort_key(c), c))
    return {code: i for i, code in enumerate(codes)}


def is_country(code: str | None) -> bool:
    return bool(code) and pycountry.countries.get(alpha_2=code.upper()) is not None


def country_name(code: str | None) -> str:
    if not code:
        return ""
    country = pycountry.countries.get(alpha_2=code.upper())
    return getattr(country, "common_name", None) or (country.name if country else code)


def region_of(code: str) -> str:
    """UN M49 region (Africa, Americas, Asia, Europe, Oceania) of a country code."""
    entry = _region_data().get(code.upper())
    return (entry or {}).get("region") or "Other"


def subregion_of(code: str) -> str:
    entry = _region_data().get(code.upper())
    return (entry or {}).get("subregion") or ""


def numeric_code(code: str) -> str | None:
    """ISO 3166 numeric code, as used by the world-atlas map."""
    entry = _region_data().get(code.upper())
    return (entry or {}).get("ccn3")


@cache
def regions() -> list[str]:
    return sorted({v["region"] for v in _region_data().values() if v.get("region")})


def countries_in_region(region: str) -> list[str]:
    return sorted(code for code, v in _region_data().items() if v.get("region") == region)
