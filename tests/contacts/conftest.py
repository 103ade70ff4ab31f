"""Contact tests: the API helpers of tests/api, and a simulated erasure.

Helper B writes the real erasure (crm.services.personal_data.erasure); these tests need only
its outcome, so `erase` sets what it leaves behind directly.
"""

from __future__ import annotations

import pytest

from tests.api.conftest import api, assert_error, token_for  # noqa: F401


@pytest.fixture
def erase(db):
    """`erase(contact)`: the contact as erasure leaves it (committed)."""
    from crm.lib import timeutil

    def _erase(contact):
        contact.name = f"Erased contact #{contact.id}"
        for key in ("title", "email", "phone", "notes", "lawful_basis_note"):
            setattr(contact, key, None)
        contact.archived = True
        contact.erased_at = timeutil.now_utc()
        db.session.commit()
        return contact

    return _erase
