"""Account enumeration (ASVS V6.3.8): forgot-password and sign-in answer the same for known
and unknown emails, and do the same work.

The answers are compared round by round (every round, not the last). The timing is not
measured here — a stopwatch on a shared CPU proves nothing either way — but its cause is:
a spy on the argon2 hasher shows that an unknown email costs one real argon2id verification,
against a dummy hash with the same parameters as a real one, exactly as a known email does.
"""

from __future__ import annotations

import re

import pytest

from crm.lib import passwords
from tests.support.http import csrf_token

KNOWN = "known.person@example.org"
UNKNOWN = "nobody.here@example.org"
ROUNDS = 3


class HasherSpy:
    """Delegates to the real hasher and records each verification's hash."""

    def __init__(self, real) -> None:
        self.real = real
        self.verified: list[str] = []

    def verify(self, stored_hash, password):
        self.verified.append(stored_hash)
        return self.real.verify(stored_hash, password)

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.fixture
def fresh_browsers(client, app):
    """`app.test_client()` then gives clients whose requests start with an empty `g` (the
    `client` fixture installs that class), so no CSRF token or user leaks between them."""
    return app.test_client


@pytest.fixture
def hasher(monkeypatch):
    spy = HasherSpy(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", spy)
    return spy


def _normalise(body: bytes, email: str) -> bytes:
    body = re.sub(rb'(csrf[-_]token"? (?:type="hidden" )?(?:content|value)=")[^"]+', rb"\1",
                  body)
    body = re.sub(rb'(name="request-id" content=")[^"]+', rb"\1", body)
    return body.replace(email.encode(), b"EMAIL")


def _argon2_parameters(encoded: str) -> str:
    """`$argon2id$v=19$m=…,t=…,p=…` — the variant, version and cost of a hash."""
    assert encoded.startswith("$argon2id$"), encoded[:20]
    return "$".join(encoded.split("$")[:4])


def _answers(app, monkeypatch, path, make_data, hasher, fresh_browsers):
    """Each round: known then unknown; returns per round the two (status, body) answers and
    the hashes each request verified against."""
    monkeypatch.setitem(app.config, "PASSWORD_RESET_RATE_LIMIT", "1000 per minute")
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "1000 per minute")
    rounds = []
    for _ in range(ROUNDS):
        answers = {}
        for email in (KNOWN, UNKNOWN):
            client = fresh_browsers()  # a fresh browser each time: nothing carried over
            data = {**make_data(email), "csrf_token": csrf_token(client, path)}
            hasher.verified.clear()
            response = client.post(path, data=data)
            answers[email] = ((response.status_code, _normalise(response.data, email)),
                              list(hasher.verified))
        rounds.append(answers)
    return rounds


def _assert_alike(rounds, known_hash: str) -> None:
    for n, answers in enumerate(rounds, 1):
        (known_answer, known_verified), (unknown_answer, unknown_verified) = (
            answers[KNOWN], answers[UNKNOWN])
        assert known_answer == unknown_answer, f"round {n}: the answers differ"
        # the same argon2 work: one verification each, with the same cost parameters
        assert len(known_verified) == len(unknown_verified) == 1, (
            n, known_verified, unknown_verified)
        assert unknown_verified == [passwords._DUMMY_HASH], f"round {n}"
        assert _argon2_parameters(unknown_verified[0]) == _argon2_parameters(known_hash)


def test_forgot_password_answers_alike(app, db, make, monkeypatch, hasher, fresh_browsers):
    user = make.make_user("staff", email=KNOWN)
    db.session.commit()
    rounds = _answers(app, monkeypatch, "/forgot-password", lambda email: {"email": email},
                      hasher, fresh_browsers)
    _assert_alike(rounds, user.password_hash)
    # the known email's verification is the dummy one too: no hint in the work done
    assert all(r[KNOWN][1] == [passwords._DUMMY_HASH] for r in rounds)


def test_failed_sign_in_answers_alike(app, db, make, monkeypatch, hasher, fresh_browsers):
    user = make.make_user("staff", email=KNOWN)
    db.session.commit()
    rounds = _answers(app, monkeypatch, "/login",
                      lambda email: {"email": email, "password": "not the right one"}, hasher,
                      fresh_browsers)
    _assert_alike(rounds, user.password_hash)
    assert all(r[KNOWN][1] == [user.password_hash] for r in rounds)  # the real check ran


def test_the_dummy_hash_is_a_real_argon2_hash_with_current_parameters():
    """A cheaper dummy (another variant, a lower cost) would make unknown emails faster."""
    real = passwords.hash_password("some password")
    assert _argon2_parameters(passwords._DUMMY_HASH) == _argon2_parameters(real)
    assert not passwords.verify_password(None, "not-a-real-password-for-timing")


def test_deactivated_account_answers_like_a_wrong_password(app, db, make, client, hasher):
    from tests.support.factories import PASSWORD

    make.make_user("staff", email=KNOWN, active=False)
    db.session.commit()
    response = client.post("/login", data={"email": KNOWN, "password": PASSWORD,
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 401
    assert b"do not match an active account" in response.data
    assert len(hasher.verified) == 1  # the same single verification as any failed sign-in
