"""One canary world for the whole package: built once, wiped at the end."""

from __future__ import annotations

import os

import pytest

from .world import VIEWPOINTS, World, build, plan


def selected_viewpoints() -> list[str]:
    """`PRIVACY_VIEWPOINTS=viewer,demoted` crawls only those (all by default)."""
    wanted = [v.strip() for v in os.environ.get("PRIVACY_VIEWPOINTS", "").split(",") if v.strip()]
    unknown = sorted(set(wanted) - set(VIEWPOINTS))
    if unknown:
        raise pytest.UsageError(f"PRIVACY_VIEWPOINTS: unknown {unknown}; known: {VIEWPOINTS}")
    return wanted or list(VIEWPOINTS)


@pytest.fixture(scope="package")
def crm_app(_app):
    """The session's application, without an app context of its own: every request the
    crawl makes gets a fresh one (and a fresh database session), as in production."""
    return _app


@pytest.fixture(scope="package")
def world(_app) -> World:
    from crm.extensions import db, limiter
    from crm.lib import timeutil
    from tests.conftest import _wipe

    now = timeutil.now_utc()
    canary_world = plan(now)
    with _app.app_context():
        _wipe(db)  # whatever an earlier test left would only add noise
        limiter.reset()
        build(canary_world, now)
        db.session.remove()
    yield canary_world
    with _app.app_context():
        db.session.remove()
        _wipe(db)
