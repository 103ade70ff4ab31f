"""Reports fixtures: exact-number tests must not see another test's cached chart data."""

from __future__ import annotations

import pytest

from crm.lib import cache


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()
