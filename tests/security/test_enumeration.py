"""Account enumeration (ASVS V6.3.8): forgot-password and sign-in answer the same, in
similar time, for known and unknown emails."""

from __future__ import annotations

import re
import statistics
import time

from tests.support.http import csrf_token

KNOWN = "known.person@example.org"
UNKNOWN = "nobody.here@example.org"


def _normalise(body: bytes, email: str) -> bytes:
    body = re.sub(rb'(csrf[-_]token"? (?:type="hidden" )?(?:content|value)=")[^"]+', rb"\1",
                  body)
    return body.replace(email.encode(), b"EMAIL")


def _timed(client, path, data):
    data = {**data, "csrf_token": csrf_token(client, path)}
    start = time.perf_counter()
    response = client.post(path, data=data)
    return time.perf_counter() - start, response


def _compare(app, monkeypatch, path, make_data, rounds=7):
    monkeypatch.setitem(app.config, "PASSWORD_RESET_RATE_LIMIT", "1000 per minute")
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "1000 per minute")
    client = app.test_client()
    times = {KNOWN: [], UNKNOWN: []}
    bodies = {}
    for _ in range(rounds):
        for email in (KNOWN, UNKNOWN):
            elapsed, response = _timed(client, path, make_data(email))
            times[email].append(elapsed)
            bodies[email] = (response.status_code, _normalise(response.data, email))
    assert bodies[KNOWN] == bodies[UNKNOWN]
    known, unknown = (statistics.median(times[e]) for e in (KNOWN, UNKNOWN))
    # similar: within 50 % of each other, or 30 ms (noise on a shared 2-core machine)
    assert abs(known - unknown) <= max(0.03, 0.5 * max(known, unknown)), (known, unknown)
    return known, unknown


def test_forgot_password_answers_alike(app, db, make, monkeypatch):
    make.make_user("staff", email=KNOWN)
    db.session.commit()
    _compare(app, monkeypatch, "/forgot-password", lambda email: {"email": email})


def test_failed_sign_in_answers_alike(app, db, make, monkeypatch):
    make.make_user("staff", email=KNOWN)
    db.session.commit()
    _compare(app, monkeypatch, "/login",
             lambda email: {"email": email, "password": "not the right one"})


def test_deactivated_account_answers_like_a_wrong_password(app, db, make, client):
    from tests.support.factories import PASSWORD

    make.make_user("staff", email=KNOWN, active=False)
    db.session.commit()
    response = client.post("/login", data={"email": KNOWN, "password": PASSWORD,
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 401
    assert b"do not match an active account" in response.data
