"""Partner name search treats LIKE's wildcards as the characters a person typed."""

from __future__ import annotations

from crm.lib.text import like_escape
from crm.services import partners


def test_like_escape_escapes_wildcards_and_the_escape_character():
    assert like_escape(r"50%_a\b") == r"50\%\_a\\b"
    assert like_escape("plain words") == "plain words"


def test_partner_search_does_not_read_percent_or_underscore_as_wildcards(db, make):
    admin = make.make_user("admin")
    make.make_partner(name="50% Club")
    make.make_partner(name="Fifty Club")
    make.make_partner(name="a_b Trust")
    make.make_partner(name="axb Trust")

    def found(q: str) -> list[str]:
        stmt = partners.partner_query(admin, {"q": q})
        return sorted(p.name for p in db.session.scalars(stmt))

    assert found("%") == ["50% Club"]
    assert found("0% c") == ["50% Club"]
    assert found("_") == ["a_b Trust"]
    assert found("a_b") == ["a_b Trust"]
