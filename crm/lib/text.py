"""Text normalisation shared by search, duplicate detection and imports."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def name_key(name: str) -> str:
    """Lower-case, accent-free, single-spaced: 'Fundación  Ñ' → 'fundacion n'."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()


def like_escape(value: str) -> str:
    """`value` with LIKE's wildcards escaped by a backslash, to use with `escape="\\\\"`, so
    a search for '50%' or 'a_b' matches those characters rather than anything."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
