"""crm.services.records.check_version: the one optimistic-locking rule (no database)."""

from __future__ import annotations

import pytest

from crm.models import FollowUp, Interaction
from crm.services.errors import ConflictError
from crm.services.records import check_version, versions_named


def test_no_expected_version_checks_nothing():
    check_version(Interaction(version=3), None)


@pytest.mark.parametrize("expected", [3, [1, 3], frozenset({3})])
def test_the_current_version_passes(expected):
    check_version(Interaction(version=3), expected)


@pytest.mark.parametrize("expected", [2, [], frozenset({1, 2})])
def test_any_other_is_a_conflict_naming_the_record(expected):
    with pytest.raises(ConflictError, match="^Someone else changed this follow-up since you"):
        check_version(FollowUp(version=3), expected)


def test_versions_named_reads_only_the_exact_spelling():
    assert versions_named(["3", "03", "x", "", " 3"]) == {3}
    assert versions_named(["v1", "v02", "1", "w/v3", "v10", None, ""], "v") == {1, 10}
