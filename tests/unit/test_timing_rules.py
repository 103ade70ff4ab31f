"""No wall-clock assertions and no sleeping as synchronisation anywhere in tests/.

On a shared 2-core machine a bound like `elapsed < 2.0` is either loose enough to prove nothing
or tight enough to fail at random, and a `time.sleep(0.5)` "to let the other thread get there"
is a guess. Tests wait for the event itself with `tests/support/wait.py` (`wait_until`,
`lock_waiters`, `wait_for_log`, `wait_for_http`); performance claims belong to `make bench`.

Read with `ast`, every `.py` file under tests/:
- **timed assertion**: an `assert` comparing with `<`, `<=`, `>` or `>=` a value computed from a
  clock (`time.monotonic()`, `perf_counter()`, `time.time()` …), directly or through variables,
  containers or helper functions of the same module that carry it;
- **sleep**: `time.sleep()`, `asyncio.sleep()`, a `sleep` imported from either, or Playwright's
  `wait_for_timeout()`, outside tests/support/ (where the polling helpers live).

`ALLOWED` names the exceptions, each with its reason; an entry no longer needed fails too, so
the list only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"

CLOCKS = {"monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns", "process_time",
          "time", "time_ns"}
ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)

#: (file, rule) -> why it is allowed. Rules: "sleep", "timed assertion".
ALLOWED: dict[tuple[str, str], str] = {
    ("tests/reminders/smtp.py", "sleep"):
        "the scripted SMTP server's `stall:N` answer hangs mid-conversation on purpose: the "
        "sleep is the server behaviour under test (SMTP_TIMEOUT cuts it), not synchronisation",
    # Files another helper of issue 20 is rewriting ("Weak tests found"); they remove their
    # entry when their file is converted.
}


def _is_clock(node: ast.AST, clock_names: set[str]) -> bool:
    """`time.monotonic()`, `perf_counter()` imported by name, `time.time()` …"""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Attribute):
        return (func.attr in CLOCKS and isinstance(func.value, ast.Name)
                and func.value.id == "time")
    return isinstance(func, ast.Name) and func.id in clock_names


def _names(target: ast.AST) -> list[str]:
    """The variable names an assignment target binds (or, for `x[i]`, writes into). An
    attribute (`result.seconds = …`) is a report kept on an object, not followed."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [n for element in target.elts for n in _names(element)]
    if isinstance(target, ast.Starred | ast.Subscript):
        return _names(target.value)
    return []


class _Module:
    """Clock taint through one module: variables (per function), containers filled with
    `.append()`/`.extend()`, and functions that return a clock value."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.clock_names = {alias.asname or alias.name for node in ast.walk(tree)
                            if isinstance(node, ast.ImportFrom) and node.module == "time"
                            for alias in node.names if alias.name in CLOCKS}
        self.timed_functions: set[str] = set()
        self.functions = [n for n in ast.walk(tree)
                          if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]

    def carries(self, node: ast.AST, tainted: set[str]) -> bool:
        for sub in ast.walk(node):
            if _is_clock(sub, self.clock_names):
                return True
            if isinstance(sub, ast.Name) and sub.id in tainted:
                return True
            if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name)
                    and sub.func.id in self.timed_functions):
                return True
        return False

    def taint(self, function: ast.AST) -> set[str]:
        tainted: set[str] = set()
        changed = True
        while changed:
            changed = False
            for node in ast.walk(function):
                targets, value = [], None
                if isinstance(node, ast.Assign):
                    targets, value = node.targets, node.value
                elif isinstance(node, ast.AugAssign | ast.AnnAssign) and node.value is not None:
                    targets, value = [node.target], node.value
                elif isinstance(node, ast.For | ast.comprehension):
                    targets, value = [node.target], node.iter
                elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                      and node.func.attr in {"append", "extend", "add", "insert"}):
                    targets, value = [node.func.value], node
                    value = ast.Tuple(elts=list(node.args), ctx=ast.Load())
                if value is None or not self.carries(value, tainted):
                    continue
                for target in targets:
                    new = set(_names(target)) - tainted
                    if new:
                        tainted |= new
                        changed = True
        return tainted

    def timed_asserts(self) -> list[int]:
        changed = True
        while changed:  # functions returning a clock value, to a fixpoint
            changed = False
            for function in self.functions:
                if function.name in self.timed_functions:
                    continue
                tainted = self.taint(function)
                if any(isinstance(n, ast.Return) and n.value is not None
                       and self.carries(n.value, tainted) for n in ast.walk(function)):
                    self.timed_functions.add(function.name)
                    changed = True
        found = []
        for scope in [self.tree, *self.functions]:
            tainted = self.taint(scope) if scope is not self.tree else set()
            for node in ast.walk(scope):
                if not isinstance(node, ast.Assert):
                    continue
                for compare in ast.walk(node.test):
                    if (isinstance(compare, ast.Compare)
                            and any(isinstance(op, ORDERING) for op in compare.ops)
                            and self.carries(compare, tainted)):
                        found.append(node.lineno)
                        break
        return sorted(set(found))

    def sleeps(self) -> list[int]:
        sleep_names = {alias.asname or alias.name for node in ast.walk(self.tree)
                       if isinstance(node, ast.ImportFrom) and node.module in ("time", "asyncio")
                       for alias in node.names if alias.name == "sleep"}
        found = []
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            named = isinstance(func, ast.Name) and func.id in sleep_names
            if named or isinstance(func, ast.Attribute) and (
                    func.attr == "wait_for_timeout"
                    or (func.attr == "sleep" and isinstance(func.value, ast.Name)
                        and func.value.id in ("time", "asyncio"))):
                found.append(node.lineno)
        return found


def violations(root: Path = ROOT) -> dict[tuple[str, str], list[int]]:
    """(file, rule) -> line numbers, for every test source under root/tests."""
    found: dict[tuple[str, str], list[int]] = {}
    for path in sorted((root / "tests").rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        module = _Module(ast.parse(path.read_text(encoding="utf-8"), filename=relative))
        if lines := module.timed_asserts():
            found[(relative, "timed assertion")] = lines
        if not relative.startswith("tests/support/") and (lines := module.sleeps()):
            found[(relative, "sleep")] = lines
    return found


def test_no_timed_assertions_and_no_sleeps_in_tests() -> None:
    found = violations()
    new = [f"{file}:{','.join(map(str, lines))}: {rule}"
           for (file, rule), lines in found.items() if (file, rule) not in ALLOWED]
    assert new == [], (
        "wait for the event with tests/support/wait.py (wait_until, lock_waiters, "
        "wait_for_log, wait_for_http) instead; move a performance bound to `make bench`")


def test_the_allow_list_has_no_stale_entries() -> None:
    found = violations()
    stale = [key for key in ALLOWED if key not in found]
    assert stale == [], "fixed: remove these entries from ALLOWED in tests/unit/test_timing_rules.py"
    assert all(reason.strip() for reason in ALLOWED.values())


CHECKED = '''
import asyncio
import time
from time import perf_counter
from time import sleep as nap


def _timed(client):
    start = perf_counter()
    response = client.get("/")
    return perf_counter() - start, response


def test_direct():
    started = time.monotonic()
    work()
    assert time.monotonic() - started < 2.0                                  # line 17


def test_through_a_variable():
    started = time.monotonic()
    elapsed = time.monotonic() - started
    assert elapsed < 2.0                                                     # line 23


def test_through_a_helper_and_a_list():
    times = []
    for _ in range(3):
        seconds, response = _timed(client)
        times.append(seconds)
    slowest = max(times)
    assert response.status_code == 200
    assert abs(slowest - 1) <= 0.5, times                                    # line 33


def test_sleeps():
    time.sleep(0.5)                                                          # line 37
    nap(1)                                                                   # line 38
    page.wait_for_timeout(100)                                               # line 39


async def test_async_sleep():
    await asyncio.sleep(1)                                                   # line 43


def test_fine():
    deadline = time.monotonic() + 5
    print(f"took {time.monotonic() - deadline:.1f}s")
    assert len([1, 2]) < 3
    assert count < 10
'''


def test_the_checker_finds_timed_assertions_and_sleeps(tmp_path: Path) -> None:
    """The check can fail: each kind of timed assertion and sleep is found, while reporting a
    duration, an ordinary comparison and the helpers in tests/support/ are not."""
    (tmp_path / "tests" / "support").mkdir(parents=True)
    (tmp_path / "tests" / "test_example.py").write_text(CHECKED)
    (tmp_path / "tests" / "support" / "wait.py").write_text(
        "import time\n\ndef poll():\n    time.sleep(0.1)\n")
    assert violations(tmp_path) == {
        ("tests/test_example.py", "timed assertion"): [17, 23, 33],
        ("tests/test_example.py", "sleep"): [37, 38, 39, 43],
    }

