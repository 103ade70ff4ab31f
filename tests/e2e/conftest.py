"""End-to-end fixtures: a real server process, a real Celery worker, Debian's Chromium.

The server (gunicorn) and the worker (`celery -A tasks worker`) run as subprocesses
against this test run's private database, sharing one instance folder: the outbox
(/dev/outbox) and the embedded filesystem broker live there, so no shared service is
touched. Tests seed their data per module through the factories and commit.

Without /usr/bin/chromium the e2e tests are skipped, except under CI=true, where a
missing browser is a failure (.ci/run installs it).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import services
from tests.support.wait import wait_for_http, wait_for_log

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
BIN = Path(sys.executable).parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-dev-shm-usage"]


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists():
        return
    for item in items:
        if "e2e" not in item.keywords:
            continue
        if services.IN_CI:
            raise pytest.UsageError(f"CI=true but {CHROMIUM} is missing: install chromium")
        item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} not installed (e2e skipped)"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# --- processes ------------------------------------------------------------------

def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def e2e_instance() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="crm-e2e-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def e2e_env(_app, database_url, e2e_instance) -> dict[str, str]:
    """Environment of the server and worker: this run's database, a private instance folder."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SMTP_", "REDIS_", "CRM_"))}
    env.update({
        "CRM_CONFIG": "development",
        "CRM_INSTANCE_PATH": str(e2e_instance),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "e2e-secret-key-0123456789abcdef",
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "PYTHONUNBUFFERED": "1",
    })
    port = services.free_port()
    env["CRM_BASE_URL"] = f"http://127.0.0.1:{port}"
    env["E2E_PORT"] = str(port)
    return env


@pytest.fixture(scope="session")
def live_server(e2e_env, e2e_instance) -> Iterator[str]:
    """gunicorn serving the app on a free loopback port; yields its base URL."""
    url = e2e_env["CRM_BASE_URL"]
    log = e2e_instance / "gunicorn.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--workers", "2", "--worker-class", "gthread",
             "--threads", "4", "--graceful-timeout", "3",
             "--bind", f"127.0.0.1:{e2e_env['E2E_PORT']}",
             "crm:create_app()"], cwd=ROOT, env=e2e_env, stdout=out, stderr=out)
    try:
        wait_for_http(f"{url}/login", process, log)
        yield url
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def live_worker(e2e_env, e2e_instance) -> Iterator[subprocess.Popen]:
    """A real `celery -A tasks worker` on the embedded filesystem broker of the instance."""
    log = e2e_instance / "worker.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(BIN / "celery"), "-A", "tasks", "worker", "--concurrency", "1",
             "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             "--without-heartbeat"], cwd=ROOT, env=e2e_env, stdout=out, stderr=out)
    try:
        wait_for_log(log, "ready", process, timeout=90)
        yield process
    finally:
        _stop(process)


def run_cli(e2e_env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`flask --app crm …` with the server's environment (e.g. `crm sweep-reminders`)."""
    return subprocess.run([str(BIN / "flask"), "--app", "crm", *args], cwd=ROOT, env=e2e_env,
                          capture_output=True, text=True, timeout=120)


# --- data -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def seeded(_app):
    """An app context for seeding with the factories; the tables are emptied after the module."""
    from crm.extensions import db
    from tests.conftest import _wipe

    ctx = _app.app_context()
    ctx.push()
    yield db
    db.session.remove()
    _wipe(db)
    ctx.pop()


# --- the browser --------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server, request):
    """A fresh browser context per test; on failure: a screenshot and the page's HTML."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stem = ARTIFACTS / f"FAILED-{request.node.name}"
        try:
            tab.screenshot(path=f"{stem}.png", full_page=True)
            Path(f"{stem}.html").write_text(tab.content())
        except Exception as exc:  # noqa: BLE001 - the original failure matters more
            Path(f"{stem}.txt").write_text(f"could not capture the page: {exc}")
    context.close()
