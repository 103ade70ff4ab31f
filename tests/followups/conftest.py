"""The API client fixtures of tests/api, for the follow-up API tests here."""

from tests.api.conftest import api, token_for  # noqa: F401  (fixtures)
