"""Where a slow page spends its time: every SQL statement with its duration (and plan).

    python -m bench.profile M /partners/1            # signed in as the bench user
    python -m bench.profile M /api/v1/partners?q=x --explain

Runs the real app in-process (production-like config, the bench database) through
Flask's test client, so the numbers exclude the network but include everything else.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench import generate


def _app(scale: str):
    os.environ.update({
        "CRM_CONFIG": "production", "DATABASE_URL": generate.database_url(scale),
        "REDIS_URL": os.environ.get("BENCH_PROFILE_REDIS", "redis://127.0.0.1:6379/14"),
        "SECRET_KEY": "bench-profile-secret", "CRM_BENCH": "1",
        "CRM_INSTANCE_PATH": tempfile.mkdtemp(prefix="bench-profile-"),
        "LOGIN_RATE_LIMIT": "100000 per minute", "API_RATE_LIMIT": "1000000 per minute"})
    from crm import create_app

    return create_app()


def _signed_in_client(app):
    client = app.test_client()
    body = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', body).group(1)
    response = client.post("/login", data={"email": generate.BENCH_EMAIL, "csrf_token": token,
                                           "password": generate.BENCH_PASSWORD},
                           headers={"Referer": "https://localhost/login"})  # https: strict CSRF
    assert response.status_code == 302, response.status_code
    return client


def profile(scale: str, path: str, repeat: int, explain: bool, bearer: str | None) -> None:
    app = _app(scale)
    client = _signed_in_client(app) if not bearer else app.test_client()
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    statements: list[tuple[float, str, object]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_t0"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        statements.append((time.perf_counter() - conn.info["bench_t0"], statement, parameters))

    client.get(path, headers=headers)  # warm caches and the connection pool
    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    timings = []
    for _ in range(repeat):
        statements.clear()
        began = time.perf_counter()
        response = client.get(path, headers=headers)
        timings.append(time.perf_counter() - began)
    print(f"{path}: HTTP {response.status_code}, best {min(timings) * 1000:.1f} ms of "
          f"{repeat}, {len(statements)} SQL statements, "
          f"SQL total {sum(s[0] for s in statements) * 1000:.1f} ms")
    for seconds, statement, params in sorted(statements, key=lambda s: -s[0]):
        print(f"\n--- {seconds * 1000:.1f} ms\n{statement.strip()}\n{params}")
        if explain and statement.lstrip().upper().startswith("SELECT"):
            with app.app_context():
                from crm.extensions import db

                with db.engine.connect() as conn:
                    plan = conn.exec_driver_sql(f"EXPLAIN ANALYZE {statement}", params)
                    print("\n".join(row[0] for row in plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scale", choices=sorted(generate.SCALES))
    parser.add_argument("path")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--bearer", help="an API token instead of signing in")
    args = parser.parse_args()
    profile(args.scale, args.path, args.repeat, args.explain, args.bearer)


if __name__ == "__main__":
    main()
