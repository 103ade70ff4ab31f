"""The CI-never-skips rule (`tests/support/ci_skips.py`) can fail a run, and only in CI.

Each case runs pytest in a subprocess on a small test file whose conftest registers the real
plugin, the way `tests/conftest.py` does, and reads the exit status and the output.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CONFTEST = """
from tests.support import ci_skips

ci_skips.ALLOWED.update({allowed!r})


def pytest_configure(config):
    ci_skips.register(config)
"""

SKIPS = """
import pytest


def test_runs():
    pass


@pytest.mark.skip(reason="marker says no")
def test_marked():
    pass


@pytest.mark.skipif(True, reason="no redis-server here")
def test_skipif():
    pass


def test_skips_at_run_time():
    pytest.skip("decided while running")


@pytest.mark.xfail(reason="known bug")
def test_expected_failure():
    assert False


@pytest.mark.xfail(reason="known bug, fixed since")
def test_unexpected_pass():
    pass


@pytest.fixture
def service():
    pytest.skip("fixture found no service")


def test_fixture_skips(service):
    pass
"""


def run_pytest(tmp_path: Path, files: dict[str, str], *, ci: bool,
               allowed: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    (tmp_path / "conftest.py").write_text(CONFTEST.format(allowed=allowed or {}))
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "PYTEST_ADDOPTS"}}
    env["PYTHONPATH"] = str(ROOT)
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "-q",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_in_ci_every_kind_of_skip_fails_the_run_and_is_named(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, {"test_skips.py": SKIPS}, ci=True)
    out = result.stdout
    assert result.returncode == 1, out
    for name, reason in [("test_marked", "marker says no"), ("test_skipif", "no redis-server"),
                         ("test_skips_at_run_time", "decided while running"),
                         ("test_expected_failure", "xfail (known bug)"),
                         ("test_unexpected_pass", "xfail (known bug, fixed since)"),
                         ("test_fixture_skips", "fixture found no service")]:
        line = next((x for x in out.splitlines()
                     if x.startswith(f"SKIPPED IN CI test_skips.py::{name} ")), None)
        assert line is not None, f"{name} not named in the summary:\n{out}"
        assert reason in line, line
    assert "6 test(s) did not run" in out
    assert "1 passed" in out and "skipped" not in out.rsplit("\n", 2)[-2], out


def test_in_ci_a_module_skipped_at_collection_fails_the_run(tmp_path: Path) -> None:
    files = {"test_optional.py": "import pytest\n"
                                 "pytest.importorskip('no_such_module_anywhere')\n\n"
                                 "def test_never_collected():\n    pass\n",
             "test_fine.py": "def test_fine():\n    pass\n"}
    result = run_pytest(tmp_path, files, ci=True)
    assert result.returncode == 1, result.stdout
    assert "SKIPPED IN CI test_optional.py - " in result.stdout, result.stdout
    assert "no_such_module_anywhere" in result.stdout


def test_in_ci_an_allowed_skip_passes(tmp_path: Path) -> None:
    files = {"test_allowed.py": "import pytest\n\n"
                                "@pytest.mark.skip(reason='allowed')\n"
                                "def test_allowed():\n    pass\n\n"
                                "def test_other():\n    pass\n"}
    result = run_pytest(tmp_path, files, ci=True,
                        allowed={"test_allowed.py::test_allowed": "the test of the allow-list"})
    assert result.returncode == 0, result.stdout
    assert "SKIPPED IN CI" not in result.stdout
    assert "1 passed, 1 skipped" in result.stdout


def test_outside_ci_skips_are_allowed_and_listed(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, {"test_skips.py": SKIPS}, ci=False)
    assert result.returncode == 0, result.stdout
    assert "SKIPPED IN CI" not in result.stdout
    assert "SKIPPED [1] test_skips.py:14: no redis-server here" in result.stdout, result.stdout
    assert "1 passed, 4 skipped, 1 xfailed, 1 xpassed" in result.stdout


def test_the_allow_list_is_explained() -> None:
    """Every allowed skip says why (today there is none)."""
    from tests.support import ci_skips

    assert all(isinstance(r, str) and r.strip() for r in ci_skips.ALLOWED.values())


@pytest.mark.parametrize("value", ["true", "1", "yes", "TRUE"])
def test_ci_is_read_from_the_environment(monkeypatch, value) -> None:
    from tests.support import ci_skips

    monkeypatch.setenv("CI", value)
    assert ci_skips.in_ci()
    monkeypatch.setenv("CI", "")
    assert not ci_skips.in_ci()
