"""CI never skips: under CI=true a skipped or xfailed test fails the run, naming the test.

A skip in CI is a test that did not run, which reads like a pass in a green summary. So with
`CI=true` every skip — a `skip`/`skipif` marker, `pytest.skip()` at run time, `importorskip`,
a module skipped at collection — and every `xfail` (failed as expected, or passing anyway)
is turned into a failure whose message says why the test did not run, and the run exits
non-zero with a "skipped in CI" section naming each one. Outside CI (a laptop without
PostgreSQL, Redis or Chromium) skips stay allowed, and `-ra` lists them with their reasons.

The one way out is `ALLOWED`, below: the node id of a test that may skip in CI, with a comment
saying why. Keep it empty.

`tests/conftest.py` calls `register(config)`; `tests/unit/test_ci_skips.py` runs pytest on small
files with CI=true to prove a skip fails the run and an allowed one does not.
"""

from __future__ import annotations

import os

import pytest

#: node id (as pytest prints it, relative to the rootdir) -> why it may skip in CI.
#: Empty on purpose: every test runs in CI.
ALLOWED: dict[str, str] = {}



def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def allowed(nodeid: str) -> bool:
    """On the allow-list, by node id or by test id without its parameters."""
    return nodeid in ALLOWED or nodeid.split("[", 1)[0] in ALLOWED


def register(config) -> None:
    """Install the hooks for this run (called from `pytest_configure`); a no-op outside CI."""
    if in_ci() and not config.pluginmanager.has_plugin("ci-never-skips"):
        config.pluginmanager.register(CiNeverSkips(), "ci-never-skips")


def _reason(report) -> str:
    if hasattr(report, "wasxfail"):
        return f"xfail ({report.wasxfail or 'no reason given'})"
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (path, line, "Skipped: why")
        return str(longrepr[2])
    return str(longrepr)


class CiNeverSkips:
    """The hooks; `self.skipped` holds (node id, reason) of every test that did not run."""

    def __init__(self) -> None:
        self.skipped: list[tuple[str, str]] = []

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if (report.skipped or hasattr(report, "wasxfail")) and not allowed(report.nodeid):
            reason = _reason(report)
            self.skipped.append((report.nodeid, reason))
            report.outcome = "failed"  # counted, shown and stopped on (-x) like any failure
            report.longrepr = (f"skipped in CI (CI=true forbids skips and xfails; allow-list: "
                               f"tests/support/ci_skips.py ALLOWED): {reason}")
            if hasattr(report, "wasxfail"):
                del report.wasxfail
        return report

    def pytest_collectreport(self, report):
        """A module skipped while collected (`importorskip`, `skip(allow_module_level=True)`)."""
        if report.skipped and not allowed(report.nodeid):
            self.skipped.append((report.nodeid, _reason(report)))

    def pytest_terminal_summary(self, terminalreporter):
        if not self.skipped:
            return
        terminalreporter.section("skipped in CI", red=True, bold=True)
        terminalreporter.line(f"CI=true: {len(self.skipped)} test(s) did not run, which fails "
                              "the run (allow-list: tests/support/ci_skips.py ALLOWED)", red=True)
        for nodeid, reason in self.skipped:
            terminalreporter.line(f"SKIPPED IN CI {nodeid} - {reason}", red=True)

    def pytest_sessionfinish(self, session):
        if self.skipped and session.exitstatus in (pytest.ExitCode.OK,
                                                     pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
