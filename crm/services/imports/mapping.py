"""Header mapping: which column of the file feeds which partner/contact field.

`auto_mapping` guesses from the header names; `clean_mapping` keeps what a person chose
only where it names a known field and an existing column, and insists on the required ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ValidationError

#: target field → (label, header names that map to it automatically)
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "name": ("Partner name", ("name", "partner", "partner name", "organisation", "organization",
                              "organisation name", "organization name", "org")),
    "sector": ("Sector", ("sector", "type", "category")),
    "country": ("Country", ("country", "country code", "iso", "iso2", "country iso")),
    "stage": ("Stage", ("stage", "status", "pipeline stage")),
    "website": ("Website", ("website", "web", "url", "site", "web site")),
    "email": ("Partner email", ("email", "partner email", "organisation email",
                                "organization email", "general email")),
    "description": ("Description", ("description", "notes", "about")),
    "tags": ("Tags", ("tags", "tag", "keywords")),
    "is_member": ("Member organisation", ("member", "is member", "is_member",
                                          "member organisation", "member organization")),
    "contact_name": ("Contact name", ("contact", "contact name", "contact person")),
    "contact_title": ("Contact title", ("contact title", "contact role", "title", "role",
                                        "job title")),
    "contact_email": ("Contact email", ("contact email", "contact e-mail", "person email")),
    "contact_phone": ("Contact phone", ("contact phone", "phone", "telephone", "tel")),
}
REQUIRED_FIELDS = ("name", "sector", "country")


def norm_header(text: str) -> str:
    """A header (or label) compared loosely: lower case, '_'/'-' as spaces, single-spaced."""
    return " ".join(text.replace("_", " ").replace("-", " ").lower().split())


def auto_mapping(header: Sequence[str],
                 fields: dict[str, tuple[str, tuple[str, ...]]] | None = None) -> dict[str, str]:
    """{field: column header} guessed from the header names (each column used once);
    `fields` defaults to the partner import's (the agreement import passes its own)."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    normalised = {h: norm_header(h) for h in header if h}
    for target, (label, aliases) in (FIELDS if fields is None else fields).items():
        wanted = {norm_header(a) for a in (*aliases, target, label)}
        for original, norm in normalised.items():
            if norm in wanted and original not in used:
                mapping[target] = original
                used.add(original)
                break
    return mapping


def clean_mapping(header: Sequence[str], mapping: dict[str, str]) -> dict[str, str]:
    """Keep only known fields mapped to existing columns; the required ones must be there."""
    clean = {f: c for f, c in mapping.items() if f in FIELDS and c and c in header}
    missing = [FIELDS[f][0] for f in REQUIRED_FIELDS if f not in clean]
    if missing:
        raise ValidationError({"mapping": "Choose the column holding: " + ", ".join(missing)})
    return clean
