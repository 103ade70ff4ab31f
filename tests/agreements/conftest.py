"""Fixtures for the agreements tests: a partner with an owner, and `agreement(...)` through
the service (so every test row is one the service could have made)."""

from __future__ import annotations

from datetime import date

import pytest


@pytest.fixture
def owner(make):
    return make.make_user(name="Agreement Owner")


@pytest.fixture
def partner(make, owner):
    return make.make_partner(owner, name="Agreement Partner", country="TH")


@pytest.fixture
def agreement(db, owner, partner):
    """`agreement(**fields)`: create one at `partner` as its owner, committed."""
    from crm.services import agreements

    def _make(at=None, actor=None, **fields):
        data = {"kind": "mou", "title": "Memorandum", "status": "active",
                "signed_on": date(2025, 1, 10), "starts_on": date(2025, 2, 1),
                "expires_on": date(2028, 1, 31)}
        data.update(fields)
        made = agreements.create(actor or owner, at or partner, data)
        db.session.commit()
        return made

    return _make


from tests.api.conftest import api, token_for  # noqa: E402,F401  (the API tests' fixtures)
