"""Benchmark-only endpoints (registered only when BENCH_ENDPOINTS is on, i.e. CRM_BENCH=1).

`/bench/baseline` runs one `SELECT 1` through the full stack (sign-in, session,
template) so `make bench` can compare every page with this machine's ceiling.
With the blueprint on, every response carries `X-SQL-Count`: the number of SQL
statements the request ran.
"""

from __future__ import annotations

from flask import Flask, g, has_request_context
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .views import bp

__all__ = ["bp", "register"]

_LISTENING: list[bool] = []


def _count_statement(conn, cursor, statement, parameters, context, executemany) -> None:
    if has_request_context():
        g.bench_sql_count = g.get("bench_sql_count", 0) + 1


def register(app: Flask) -> None:
    """Mount /bench and the per-request SQL statement counter."""
    app.register_blueprint(bp, url_prefix="/bench")
    if not _LISTENING:  # a class-level listener: one per process is enough
        event.listen(Engine, "before_cursor_execute", _count_statement)
        _LISTENING.append(True)

    @app.after_request
    def _sql_count_header(response):
        response.headers["X-SQL-Count"] = str(g.get("bench_sql_count", 0))
        return response
