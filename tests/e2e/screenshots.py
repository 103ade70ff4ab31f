"""Refresh docs/screenshots from `make run`'s demo data: `make screenshots`.

Not a test: it seeds the demo network into a throwaway SQLite instance (the embedded
default), starts the development server, signs in as the demo manager in Debian's
headless Chromium and saves the pages the README and docs/features.md show.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, ROOT
from tests.support.wait import wait_for_http

OUT = ROOT / "docs" / "screenshots"
PORT = 5077
DEMO_PASSWORD = "partner-crm-demo"  # the demo logins README.md prints


def _flask(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "crm", *args],
                   env=env, cwd=ROOT, check=True, capture_output=True)


def main(out: Path = OUT, user: str = "manager@example.org") -> None:
    instance = Path(tempfile.mkdtemp(prefix="crm-screenshots-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(CRM_INSTANCE_PATH=str(instance), FLASK_DEBUG="0")
    _flask("db", "upgrade", env=env)
    _flask("crm", "seed-demo", env=env)
    log = instance / "server.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "crm", "run", "--port", str(PORT)],
            env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{PORT}"
        wait_for_http(f"{base}/login", server, log)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1360, "height": 900}, base_url=base)
            page.goto("/login")
            page.get_by_label("Email").fill(user)
            page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Sign in").click()

            def shot(url: str, name: str, full_page: bool = True) -> None:
                page.goto(url)
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(out / f"{name}.png"), full_page=full_page)

            shot("/", "dashboard")
            shot("/partners/", "partners-list", full_page=False)
            first = page.locator("table tbody a[href^='/partners/']").first.get_attribute("href")
            shot(first, "partner-page", full_page=False)
            shot("/interactions/new", "log-interaction")
            shot("/follow-ups/", "follow-ups", full_page=False)
            # issue 15: a Code member's agreement (criteria at different stages, reports)
            page.goto("/partners/?q=hoteles")
            page.locator("table tbody a[href^='/partners/']").first.click()
            code = page.locator("#agreements a", has_text="The Code membership")
            shot(code.get_attribute("href"), "code-membership")
            browser.close()
    finally:
        server.terminate()
        server.wait(20)
    print(f"screenshots written to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
