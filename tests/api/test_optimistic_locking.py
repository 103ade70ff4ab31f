"""One optimistic-locking rule (crm.services.records.check_version) behind If-Match."""

from __future__ import annotations

import pytest

from crm.models import Partner

from .conftest import assert_error


@pytest.fixture
def owned(make, token_for, db):
    user = make.make_user(role="staff", email="locker@example.org")
    partner = make.make_partner(owner=user, name="Lockable", country="FR", stage="prospect")
    db.session.commit()
    return partner.id, token_for(user)


@pytest.mark.parametrize("if_match", ['W/"v1"', '"v7", "v1"', "*"])
def test_a_weak_a_listed_or_a_star_if_match_is_current(api, db, owned, if_match):
    pid, token = owned
    response = api.patch(f"/partners/{pid}", token, json={"stage": "dialogue"},
                         headers={"If-Match": if_match})
    assert response.status_code == 200, response.get_data(True)
    assert response.headers["ETag"] == '"v2"'


@pytest.mark.parametrize("if_match", ['"v2"', '"v01"', '"1"', '"garbage"', '""'])
def test_a_stale_or_garbled_if_match_is_a_conflict_and_writes_nothing(api, db, owned,
                                                                      if_match):
    pid, token = owned
    response = api.patch(f"/partners/{pid}", token, json={"stage": "dialogue"},
                         headers={"If-Match": if_match})
    error = assert_error(response, 409, "conflict")
    assert error["message"] == "Someone else changed this partner since you read it."
    db.session.expire_all()
    partner = db.session.get(Partner, pid)
    assert (partner.stage, partner.version) == ("prospect", 1)
