"""The foundation's checks, kept in the security suite: login throttling (ASVS V6.3.1),
argon2id storage (V11.4.2), refusing to start without a secret (V13)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, load_config
from crm.lib import passwords
from tests.support.http import csrf_token

ROOT = Path(__file__).resolve().parents[2]


def test_six_failed_logins_answer_429(db, client, make):
    user = make.make_user("staff")
    db.session.commit()
    statuses = [client.post("/login", data={"email": user.email, "password": "wrong one!!",
                                            "csrf_token": csrf_token(client, "/login")}
                            ).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]


def test_stored_hash_is_argon2id_and_rehashed_when_parameters_change(db, make, monkeypatch):
    from argon2 import PasswordHasher

    from crm.services.accounts import users
    from tests.support.factories import PASSWORD

    user = make.make_user("staff")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    user.password_hash = weak
    db.session.commit()
    assert passwords.needs_rehash(weak)
    assert users.authenticate(user.email, PASSWORD) is user
    assert user.password_hash != weak and user.password_hash.startswith("$argon2id$")
    assert not passwords.needs_rehash(user.password_hash)


def test_common_password_list_is_real_and_enforced():
    from crm.lib import password_policy

    common = password_policy.common_passwords()
    assert len(common) > 10_000
    assert password_policy.problems("Password1234")  # on the list, case-insensitively
    assert password_policy.problems("short")
    assert not password_policy.problems("violet tractor umbrella canyon")


def test_production_without_secret_key_fails_with_one_line(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@127.0.0.1/x")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    with pytest.raises(ConfigError) as info:
        load_config("production")
    message = str(info.value)
    assert "SECRET_KEY" in message and "\n" not in message


def test_production_start_up_prints_the_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY",)}
    env.update(CRM_CONFIG="production", DATABASE_URL="postgresql://x@127.0.0.1/x",
               REDIS_URL="redis://127.0.0.1:1/0", CRM_INSTANCE_PATH=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", "from crm import create_app; create_app()"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when CRM_CONFIG=production" in result.stderr
