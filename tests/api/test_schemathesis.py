"""Schemathesis against the served OpenAPI document, through the app's WSGI interface.

Positive and negative cases for every operation (a bounded number each): no 5xx, every
status code, content type, header and body conforms to the document, invalid input is
rejected. Half of the generated record ids are swapped for real, visible ones so the
happy paths (200/201/409) run too, not only 404s. The number of cases is printed.
"""

from __future__ import annotations

import random

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import SCHEMATHESIS_CASES

MAX_EXAMPLES = 15
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, negative_data_rejection]


@pytest.fixture
def seeded(app, db, make, token_for):
    """A manager with records to act on; a generous rate limit for the run."""
    manager = make.make_user(role="manager", email="fuzz@example.org")
    partner = make.make_partner(owner=manager, tags=["fuzz"])
    contact = make.make_contact(partner)
    interaction = make.make_interaction(partner, logged_by=manager)
    follow_up = make.make_follow_up(partner, manager)
    db.session.commit()
    ids = {"partner_id": partner.id, "contact_id": contact.id,
           "interaction_id": interaction.id, "follow_up_id": follow_up.id}
    old = app.config["API_RATE_LIMIT"]
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    yield {"token": token_for(manager), "ids": ids}
    app.config["API_RATE_LIMIT"] = old


def _served_document() -> dict:
    """The document exactly as GET /api/v1/openapi.json serves it (read at collection)."""
    from crm import create_app

    response = create_app("test").test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


schema = schemathesis.openapi.from_dict(_served_document())


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case, app, seeded):
    rng = random.Random(repr(case.path_parameters))
    for name in list(case.path_parameters or {}):
        if name in seeded["ids"] and isinstance(case.path_parameters[name], int) \
                and rng.random() < 0.5:
            case.path_parameters[name] = seeded["ids"][name]
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {seeded['token']}"}
    response = case.call_and_validate(app=app, checks=CHECKS)
    SCHEMATHESIS_CASES.append((case.operation.label, response.status_code))
