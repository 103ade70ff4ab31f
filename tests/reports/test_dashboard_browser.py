"""The dashboard in headless Chromium: charts draw, the map's tooltip shows the count and a
click on a country opens the partner list filtered by it. No console errors (CSP holds).

What the pictures show, read from the rendered page: the map's fill for countries with 0, 1,
3 and 4 partners (pixels of the canvas) are all different and are the legend's colours; the
coverage matrix's headers and the partner list's tags never wrap, at desktop and phone widths.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.helpers import axe_violations
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
    assert _in_browser(_drive, server, manager.email) == []


def _in_browser(drive, *args):
    """Run `drive(browser, *args)` with a fresh Chromium, in a thread of its own (another
    suite's session-wide sync Playwright may own this one)."""
    def run():
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=["--no-sandbox", "--disable-gpu"])
            try:
                return drive(browser, *args)
            finally:
                browser.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result(timeout=240)


def _signed_in(browser, server: str, email: str, width: int = 1280, errors=None):
    page = browser.new_page(viewport={"width": width, "height": 900})
    if errors is not None:
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and "favicon" not in m.location.get(
            "url", "") and errors.append(m.text))
    page.goto(f"{server}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")
    return page


def _drive(browser, server: str, email: str) -> list[str]:
    errors: list[str] = []
    page = _signed_in(browser, server, email, errors=errors)
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
    return errors


# --- the map's colours ----------------------------------------------------------------

#: large, compact countries whose centroid lies inside them: 0, 1, 3 and 4 partners
MAP_COUNTS = {"Algeria": 0, "Brazil": 1, "Kenya": 3, "Australia": 4}
#: the pixel under each country's centroid, the colour Chart.js resolved for it, and the
#: country actually hit there (so a centroid in the sea cannot pass for a fill)
READ_FILLS = """(names) => {
    const chart = Chart.getChart('chart-map'), meta = chart.getDatasetMeta(0);
    const ctx = chart.canvas.getContext('2d'), ratio = chart.currentDevicePixelRatio;
    const hex = (r, g, b) => '#' + [r, g, b].map(v => v.toString(16).padStart(2, '0')).join('');
    const out = {};
    for (const name of names) {
        const el = meta.data[chart.data.labels.indexOf(name)], p = el.getCenterPoint();
        const [r, g, b] = ctx.getImageData(Math.round(p.x * ratio), Math.round(p.y * ratio), 1, 1).data;
        const probe = document.createElement('canvas').getContext('2d');
        probe.fillStyle = el.options.backgroundColor;  // any CSS colour, read back as #rrggbb
        out[name] = {pixel: hex(r, g, b), option: probe.fillStyle, inside: el.inRange(p.x, p.y)};
    }
    return out;
}"""
READ_LEGEND = """() => [...document.querySelectorAll('#map-legend li')].map(li => {
    const [r, g, b] = getComputedStyle(li.querySelector('.map-swatch')).backgroundColor
        .match(/\\d+/g).map(Number);
    return [li.textContent.trim(),
            '#' + [r, g, b].map(v => v.toString(16).padStart(2, '0')).join('')];
})"""


def test_map_colours_tell_0_1_3_and_4_apart_and_match_the_legend(db, server):
    manager = f.make_user("manager", password=f.PASSWORD)
    codes = {"Algeria": "DZ", "Brazil": "BR", "Kenya": "KE", "Australia": "AU"}
    for name, n in MAP_COUNTS.items():
        for _ in range(n):
            f.make_partner(manager, country=codes[name])
    db.session.commit()

    fills, legend, errors = _in_browser(_read_map, server, manager.email)

    assert errors == []
    assert all(fill["inside"] for fill in fills.values()), fills
    pixel = {name: fill["pixel"] for name, fill in fills.items()}
    # what is drawn is what the chart was told to draw (no blending, no hover)
    assert pixel == {name: fill["option"] for name, fill in fills.items()}
    assert pixel["Algeria"] != pixel["Brazil"]  # none is not "one"
    assert pixel["Kenya"] != pixel["Australia"]  # 3 is not 4
    assert len(set(pixel.values())) == 4
    # the legend: none, then one step per integer up to 4, in the map's own colours
    assert list(legend) == ["none", "1", "2", "3", "4"]
    assert legend["none"] == pixel["Algeria"] and legend["1"] == pixel["Brazil"]
    assert legend["3"] == pixel["Kenya"] and legend["4"] == pixel["Australia"]
    assert len(set(legend.values())) == 5


def _read_map(browser, server: str, email: str):
    errors: list[str] = []
    page = _signed_in(browser, server, email, errors=errors)
    page.wait_for_function("() => window.Chart && Chart.getChart('chart-map')")
    page.locator("#chart-map").scroll_into_view_if_needed()
    page.mouse.move(0, 0)  # nothing hovered
    legend = dict(page.evaluate(READ_LEGEND))  # [label, colour] pairs, in the legend's order
    return page.evaluate(READ_FILLS, list(MAP_COUNTS)), legend, errors


# --- headers and tags that never wrap ------------------------------------------------------

#: for each element matched: how many line boxes its visible text takes (text inside
#: .visually-hidden is for screen readers and left out)
LINES = """(selector) => [...document.querySelectorAll(selector)].map(el => {
    const tops = new Set(), walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!node.textContent.trim() || node.parentElement.closest('.visually-hidden')) continue;
        const range = document.createRange(); range.selectNodeContents(node);
        for (const rect of range.getClientRects()) { if (rect.width > 0) tops.add(Math.round(rect.top)); }
    }
    return [el.textContent.trim(), tops.size];
})"""


@pytest.mark.parametrize("width", [1280, 390])
def test_coverage_headers_and_tags_stay_on_one_line(db, server, width):
    manager = f.make_user("manager", password=f.PASSWORD)
    for sector in ("law_enforcement", "government", "intergovernmental", "travel_tourism"):
        f.make_partner(manager, country="MX", sector=sector)
    guate = f.make_partner(manager, name="Consejo Nacional para la Protección Integral de la Niñez",
                           country="GT", sector="intergovernmental",
                           tags=["research", "hotline", "advocacy", "trafficking"])
    f.make_interaction(guate, manager)
    db.session.commit()

    pages, titles, violations = _in_browser(_read_lines, server, manager.email, width)

    for where, cells in pages.items():
        assert cells, f"nothing measured on {where}"
        wrapped = [(text, lines) for text, lines in cells if lines != 1]
        assert not wrapped, f"{where} at {width}px: {wrapped}"
    # a short header names its sector in full in its title and for screen readers
    assert ["Law enf.", "Law enforcement", "Law enforcement"] in titles
    # tables that scroll sideways on a phone can be scrolled by keyboard (axe-core)
    assert violations == {}


def _read_lines(browser, server: str, email: str, width: int):
    page = _signed_in(browser, server, email, width)
    found = {}
    for where, selector in (("/", "#coverage-matrix thead th"),
                            ("/reports/?report=coverage", "#coverage-matrix thead th"),
                            ("/reports/?report=coverage&region=Americas",
                             "#coverage-matrix thead th"),
                            ("/partners/", ".tag")):
        page.goto(f"{server}{where}")
        found[where] = page.evaluate(LINES, selector)
        # the matrix scrolls inside its box; the page itself never scrolls sideways
        overflow = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0, f"{where} at {width}px is {overflow}px wider than the screen"
    page.goto(f"{server}/reports/?report=coverage")
    titles = page.evaluate("() => [...document.querySelectorAll('#coverage-matrix thead th[title]')]"
                           ".map(th => [th.querySelector('abbr').textContent, th.title,"
                           " th.querySelector('.visually-hidden').textContent])")
    violations = {}
    for report in ("engagement", "followups", "silence", "coverage"):
        page.goto(f"{server}/reports/?report={report}")
        if serious := axe_violations(page):
            violations[report] = serious
    return found, titles, violations
