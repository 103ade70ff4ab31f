"""The layers, enforced: blueprints → services → models; tasks and commands are thin.

Read with `ast` (nothing is imported, so a cycle or a side effect cannot hide a rule),
every `import` counts, at the top of a module or inside a function, relative imports
resolved. A failure names the file, the line and the import. See docs/architecture.md.

Rules:
- services never import blueprints, tasks or commands, nor the request's unit of work
  (`crm.uow`), the jobs above them, or the request globals (`flask.request`,
  `flask.session`, `flask.g`): they serve the web, the API, the worker and the CLI alike;
- models import nothing above them (services, blueprints, forms, commands, tasks, jobs);
- tasks and commands never import blueprints;
- tasks never import commands: the worker and the CLI share orchestration (`crm/jobs.py`),
  neither owns it; and the jobs import neither them, nor blueprints, nor the request globals.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUEST_GLOBALS = frozenset({"request", "session", "g"})


@dataclass(frozen=True)
class Rule:
    """Modules under `where` may not import any module under one of `forbidden`."""

    name: str
    where: str  # a path relative to the repository, a folder or a .py file
    forbidden: tuple[str, ...]  # module prefixes: "crm.blueprints" also forbids its children
    request_globals: bool = False  # also forbid flask.request / session / g


RULES = (
    Rule("services never import blueprints, tasks or commands", "crm/services",
         ("crm.blueprints", "tasks", "crm.commands", "crm.cli", "crm.jobs", "crm.uow"),
         request_globals=True),
    Rule("models import nothing above them", "crm/models",
         ("crm.lib", "crm.services", "crm.blueprints", "crm.forms", "crm.commands", "crm.cli",
          "crm.jobs", "crm.uow", "tasks")),
    Rule("helpers (crm/lib) know no domain service, view, task or command", "crm/lib",
         ("crm.services", "crm.blueprints", "crm.forms", "crm.commands", "crm.cli", "crm.jobs",
          "crm.uow", "tasks"), request_globals=True),
    Rule("tasks don't import blueprints", "tasks", ("crm.blueprints",)),
    Rule("commands don't import blueprints", "crm/commands", ("crm.blueprints",)),
    Rule("tasks don't import commands", "tasks", ("crm.commands", "crm.cli")),
    Rule("jobs serve the worker, the CLI and the web, and import none of them", "crm/jobs.py",
         ("crm.blueprints", "crm.commands", "crm.cli", "tasks"), request_globals=True),
)

#: Known offenders, each with the reason it is tolerated for now. An entry that no longer
#: matches a real import fails the suite, so the list can only shrink.
#: (file, forbidden module prefix) -> why
ALLOWED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    path: str
    line: int
    module: str  # the absolute module imported (for `from a import b`: "a.b" and "a")
    text: str


def module_name(path: Path) -> str:
    """`crm/services/x.py` -> `crm.services.x`; a package's `__init__` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, source: str | None = None) -> list[Import]:
    """Every import in a file, with relative imports made absolute.

    `from a import b` yields both `a.b` and `a` (b may be a module or a name in a).
    """
    source = path.read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(source, filename=str(path))
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    rel = str(path.relative_to(ROOT))
    found: list[Import] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        text = ast.get_source_segment(source, node) or ""
        if isinstance(node, ast.Import):
            found += [Import(rel, node.lineno, alias.name, text) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                base = ".".join([*anchor, *([base] if base else [])])
            found.append(Import(rel, node.lineno, base, text))
            found += [Import(rel, node.lineno, f"{base}.{alias.name}", text)
                      for alias in node.names if alias.name != "*"]
    return found


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def violations(rule: Rule, files: list[tuple[Path, str | None]]) -> list[tuple[Import, str]]:
    """(import, forbidden module) pairs breaking `rule` in `files`."""
    found = []
    for path, source in files:
        seen = set()
        for imp in imports_of(path, source):
            bad = [p for p in rule.forbidden if within(imp.module, p)]
            if rule.request_globals and imp.module in {f"flask.{n}" for n in REQUEST_GLOBALS}:
                bad.append(imp.module)
            if rule.request_globals and imp.module == "flask.globals":
                bad.append(imp.module)
            for prefix in bad:
                key = (imp.line, prefix)
                if key not in seen:
                    seen.add(key)
                    found.append((imp, prefix))
    return found


def python_files(where: str) -> list[tuple[Path, str | None]]:
    target = ROOT / where
    paths = [target] if target.suffix == ".py" else sorted(target.rglob("*.py"))
    return [(p, None) for p in paths if "__pycache__" not in p.parts]


def request_global_uses(path: Path) -> list[tuple[int, str]]:
    """`flask.request` / `flask.session` / `flask.g` reached as attributes of `flask`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.lineno, f"flask.{node.attr}") for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == "flask" and node.attr in REQUEST_GLOBALS]


def describe(found: list[tuple[Import, str]]) -> list[str]:
    return [f"{imp.path}:{imp.line}: `{imp.text}` imports {prefix}" for imp, prefix in found]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_import_rule(rule: Rule) -> None:
    files = python_files(rule.where)
    assert files, f"{rule.where} holds no Python file: is the rule still pointing somewhere?"
    found = [(imp, prefix) for imp, prefix in violations(rule, files)
             if (imp.path, prefix) not in ALLOWED]
    if rule.request_globals:
        found += [(Import(str(p.relative_to(ROOT)), line, name, name), name)
                  for p, _ in files for line, name in request_global_uses(p)]
    assert describe(found) == [], f"rule broken: {rule.name}"


def test_allow_list_entries_are_still_needed() -> None:
    """A fixed offender leaves the allow-list (the exceptions may only shrink)."""
    actual = {(imp.path, prefix) for rule in RULES
              for imp, prefix in violations(rule, python_files(rule.where))}
    assert sorted(set(ALLOWED) - actual) == []


def test_the_checker_sees_every_form_of_import(tmp_path: Path, monkeypatch) -> None:
    """The rules can fail: absolute, relative, aliased, from-imports, imports inside a
    function and the request globals are all caught; harmless imports are not."""
    monkeypatch.setitem(globals(), "ROOT", tmp_path)  # module_name() reads the module's ROOT
    services = tmp_path / "crm" / "services"
    services.mkdir(parents=True)
    offender = services / "sample.py"
    offender.write_text(
        "import crm.blueprints.partners as p\n"
        "from crm.services import access\n"          # allowed
        "from flask import current_app, request\n"   # request is forbidden
        "from ..commands.reminders import run_sweep\n"
        "from .. import cli\n"
        "def later():\n"
        "    from tasks.delivery import send\n"
        "    import tasksmith\n")                      # a different package: allowed
    found = violations(RULES[0], [(offender, None)])
    messages = describe(found)
    assert [m.split(": ", 1)[0] for m in messages] == [
        "crm/services/sample.py:1", "crm/services/sample.py:3", "crm/services/sample.py:4",
        "crm/services/sample.py:5", "crm/services/sample.py:7"], messages
    assert "crm.commands" in messages[2] and "crm.cli" in messages[3]
    assert "`import crm.blueprints.partners as p`" in messages[0]

    models = tmp_path / "crm" / "models"
    models.mkdir()
    (models / "thing.py").write_text("from crm.extensions import db\n"
                                     "from crm.services.partners import clean\n")
    assert [imp.module for imp, _ in violations(RULES[1], [(models / "thing.py", None)])] == [
        "crm.services.partners"]
