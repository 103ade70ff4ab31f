"""The dashboard in headless Chromium: charts draw, the map's tooltip shows the count and a
click on a country opens the partner list filtered by it. No console errors (CSP holds)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support import factories as f
from tests.support import services
from tests.support.wait import wait_for_http

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"

pytestmark = [pytest.mark.e2e, pytest.mark.postgres,
              pytest.mark.skipif(not Path(CHROMIUM).exists() and not services.IN_CI,
                                 reason="no Chromium")]


@pytest.fixture
def server(database_url, tmp_path):
    port = services.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "CRM_", "SMTP_"))}
    env.update(CRM_CONFIG="development", CRM_INSTANCE_PATH=str(tmp_path),
               DATABASE_URL=database_url, SECRET_KEY="reports-browser-test-0123456789",
               LOGIN_RATE_LIMIT="1000 per minute")
    log = tmp_path / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen([str(BIN / "flask"), "--app", "crm", "run", "-p", str(port)],
                                   cwd=ROOT, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/login", process, log)
    yield url
    process.send_signal(signal.SIGTERM)
    process.wait(20)


def test_dashboard_charts_and_map(db, server):
    manager = f.make_user("manager", password=f.PASSWORD)
    for country, n in (("KE", 3), ("TH", 1)):
        for _ in range(n):
            partner = f.make_partner(manager, country=country)
            f.make_interaction(partner, manager)
    db.session.commit()
    # a thread of its own: another suite's session-wide sync Playwright may own this one
    with ThreadPoolExecutor(1) as pool:
        errors = pool.submit(_drive, server, manager.email).result(timeout=240)
    assert errors == []


def _drive(server: str, email: str) -> list[str]:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and "favicon" not in m.location.get(
            "url", "") and errors.append(m.text))
        page.goto(f"{server}/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", f.PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/")
        page.wait_for_function("() => window.Chart && Chart.getChart('chart-map')"
                               " && Chart.getChart('chart-monthly') && Chart.getChart('chart-stages')")
        page.locator("#chart-map").scroll_into_view_if_needed()
        point = page.evaluate("""() => { const c = Chart.getChart('chart-map');
            const i = c.data.labels.indexOf('Kenya'); const el = c.getDatasetMeta(0).data[i];
            const r = c.canvas.getBoundingClientRect(); const p = el.getCenterPoint();
            return {x: r.left + p.x, y: r.top + p.y}; }""")
        page.mouse.move(point["x"], point["y"])
        page.wait_for_function("() => Chart.getChart('chart-map').tooltip.opacity > 0")
        lines = page.evaluate("() => Chart.getChart('chart-map').tooltip.body"
                              ".flatMap(b => b.lines)")
        assert lines == ["Kenya: 3 partners"]
        page.mouse.click(point["x"], point["y"])
        page.wait_for_url("**/partners/?country=KE")
        browser.close()
    return errors
