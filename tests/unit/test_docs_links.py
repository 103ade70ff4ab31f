"""Every relative link in README.md and docs/ leads somewhere.

The README is the front door and the deep sections live in docs/; a section moved or
renamed must not leave a dead link behind. Checked: markdown links and images
(`[text](target)`, `![alt](target)`, reference definitions `[id]: target`) and HTML
`src`/`href` attributes, outside code. A target must be an existing file or folder; a
`#anchor` into a markdown file (or into the same page) must name one of its headings,
slugged the way GitHub does.

In the guarantee and security sections (`CLAIM_SECTIONS`) every claim — bullet, table row or
paragraph — must name the test function that proves it, as `path::test_name`.

The docs also name code in backticks (`crm/services/access.py`, the ASVS table's
`test_headers.py::test_idle_session_ends`): each such path must exist and each named test
function must be defined, so a module moved by a refactor cannot leave a claim behind.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]

INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HTML_ATTR = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']+)["']""")
FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


#: code paths under these top-level folders, named in backticks, must exist
CODE_PATH = re.compile(
    r"`((?:crm|tasks|tests|config|migrations|bench|static|templates|deploy|docs|\.ci)/[^`\s]*)`")
#: a test file (with or without its folder), optionally `::function` (a `*` is a wildcard)
TEST_REF = re.compile(r"`((?:[\w./-]*/)?test_\w+\.py)(?:::([\w*]+))?`")
#: paths that are examples, not claims (docs/architecture.md's worked example)
HYPOTHETICAL = re.compile(r"agreement", re.IGNORECASE)


def documents() -> list[Path]:
    """README.md and every markdown file under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def prose_lines(text: str, *, keep_code_spans: bool = False) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, inline code spans blanked unless kept
    (a heading's anchor keeps the text of its code spans)."""
    lines, fence = [], None
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line)
        if match:
            marker = match.group(1)[0]
            if fence is None:
                fence = marker
            elif fence == marker:
                fence = None
            continue
        if fence is None:
            lines.append((number, line if keep_code_spans else CODE_SPAN.sub("", line)))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text).lower()
    kept = [c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN"]
    return "".join(kept).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a markdown file (a repeated heading gets -1, -2 …)."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for _, line in prose_lines(path.read_text(encoding="utf-8"), keep_code_spans=True):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(1).replace("`", ""))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[tuple[int, str]]:
    """(line, target) of every link and image in a markdown file, outside code."""
    found = []
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        targets = INLINE.findall(line) + HTML_ATTR.findall(line)
        ref = REFERENCE.match(line)
        if ref:
            targets.append(ref.group(1))
        found += [(number, target) for target in targets]
    return found


def broken(path: Path) -> list[str]:
    """What is wrong with the relative links of one file, one message per dead link."""
    problems = []
    for number, target in links(path):
        if EXTERNAL.match(target):
            continue
        where = f"{path.relative_to(ROOT)}:{number}: {target}"
        file_part, _, anchor = target.partition("#")
        destination = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not destination.exists():
            problems.append(f"{where} -> no such file {destination.relative_to(ROOT)}")
            continue
        if anchor and destination.suffix == ".md" and unquote(anchor) not in anchors(destination):
            problems.append(f"{where} -> no heading #{anchor} in {destination.relative_to(ROOT)}")
    return problems


def missing_code(path: Path) -> list[str]:
    """Code paths and test functions the file names that do not exist."""
    tests = sorted((ROOT / "tests").rglob("test_*.py"))
    problems = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path.relative_to(ROOT)}:{number}"
        for named in CODE_PATH.findall(line):
            target = named.split("::")[0].rstrip(",.")
            if not HYPOTHETICAL.search(target) and not (ROOT / target).exists():
                problems.append(f"{where}: `{named}` does not exist")
        for file, function in TEST_REF.findall(line):
            files = [t for t in tests if t.relative_to(ROOT).as_posix() == file
                     or ("/" not in file and t.name == file)]
            if not files:
                problems.append(f"{where}: no test file `{file}`")
                continue
            if function:
                pattern = re.compile(r"^\s*(?:async\s+)?def " + ".*".join(
                    re.escape(p) for p in function.split("*")) + r"\w*\(", re.MULTILINE)
                if not any(pattern.search(f.read_text(encoding="utf-8")) for f in files):
                    problems.append(f"{where}: no test `{function}` in `{file}`")
    return problems


#: sections whose every claim names the test that proves it: (file, heading)
CLAIM_SECTIONS = [
    ("README.md", "Scaling"),
    ("README.md", "Reminders and delivery guarantees"),
    ("README.md", "Personal data"),
    ("docs/operations.md", "The guarantee and its tests"),
    ("docs/security.md", "Headers and refusals"),
    ("docs/security.md", "Privacy on every path"),
    ("docs/security.md", "The leak-canary crawl"),
    ("docs/security.md", "Append-only audit trail"),
    ("docs/security.md", "OWASP ASVS 5.0 coverage"),
]
#: a named test function: `path/test_x.py::test_name` or `test_x.py::test_name`
NAMED_TEST = re.compile(r"`(?:[\w./-]*/)?test_\w+\.py::test_[\w*]+`")
TABLE_SEPARATOR = re.compile(r"^\s*\|[\s:|-]+\|\s*$")


def claims(text: str, heading: str) -> list[tuple[int, str]] | None:
    """(first line, text) of each claim under `heading` (up to the next heading): every list
    item, table row (not the header) and paragraph; a paragraph ending in ":" introduces what
    follows and is not a claim. None when the heading is missing."""
    units: list[tuple[int, list[str]]] = []
    inside, found, in_table = False, False, False
    for number, line in enumerate(text.splitlines(), 1):
        match = HEADING.match(line)
        if match:
            inside = match.group(1).replace("`", "") == heading
            found = found or inside
            continue
        if not inside:
            continue
        if not line.strip():
            units.append((number, []))
            in_table = False
            continue
        if line.lstrip().startswith("|"):
            if TABLE_SEPARATOR.match(line):
                units.pop()  # the row above was the header
                in_table = True
                continue
            units.append((number, [line]))
            continue
        if re.match(r"^\s*(?:[-*]|\d+\.)\s", line) or not units or not units[-1][1] or in_table:
            units.append((number, [line]))
        else:
            units[-1][1].append(line)
    if not found:
        return None
    kept = [(n, " ".join(lines)) for n, lines in units if lines]
    return [(n, t) for n, t in kept if not t.rstrip().endswith(":")]


def unproven(path: Path, heading: str) -> list[str]:
    """Claims of one section that name no test function."""
    found = claims(path.read_text(encoding="utf-8"), heading)
    if found is None:
        return [f"{path.name}: no section '{heading}'"]
    return [f"{path.relative_to(ROOT)}:{number}: {claim[:90]}…"
            for number, claim in found if not NAMED_TEST.search(claim)]


@pytest.mark.parametrize(("file", "heading"), CLAIM_SECTIONS, ids=lambda x: str(x))
def test_every_claim_names_the_test_that_proves_it(file: str, heading: str) -> None:
    """In the guarantee and security sections each bullet, table row and paragraph names at
    least one test function (`path::test_name`); that it exists is checked above."""
    assert unproven(ROOT / file, heading) == []


def test_the_claim_checker_finds_a_claim_without_a_test(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n## Claims\n\nWhat we promise:\n\n"
        "- proven (`tests/a/test_x.py::test_one`)\n- only a file (`test_x.py`)\n"
        "  continued on a second line\n\n"
        "| claim | tests |\n|---|---|\n| proven | `test_x.py::test_two` |\n"
        "| unproven | none |\n\n"
        "A paragraph that says something\nwithout a test.\n\n## Elsewhere\n\n- free\n")
    problems = unproven(page, "Claims")
    assert [p.split(": ", 1)[1][:20] for p in problems] == [
        "- only a file (`test", "| unproven | none |…", "A paragraph that say"], problems
    assert unproven(page, "Missing") == ["page.md: no section 'Missing'"]


@pytest.mark.parametrize("path", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_named_module_and_test_exists(path: Path) -> None:
    assert missing_code(path) == []


@pytest.mark.parametrize("path", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    assert links(path) or path.name != "README.md", "the README links to nothing?"
    assert broken(path) == []


def test_the_readme_links_to_every_docs_page() -> None:
    """A page nobody links to from the front door is a page nobody finds."""
    linked = {(ROOT / t.partition("#")[0]).resolve()
              for _, t in links(ROOT / "README.md") if not EXTERNAL.match(t)}
    pages = {p.resolve() for p in (ROOT / "docs").rglob("*.md")}
    assert pages, "docs/ holds no page"
    assert sorted(str(p.relative_to(ROOT)) for p in pages - linked) == []


def test_the_checker_finds_dead_links_and_anchors(tmp_path: Path, monkeypatch) -> None:
    """The check can fail: a missing file, a missing heading and a missing image are found,
    while links inside code, external links and good anchors are not reported."""
    monkeypatch.setitem(globals(), "ROOT", tmp_path)  # the helpers read the module's ROOT
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("# A page\n\n## Two `words`, here\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Front\n\n"
        "[ok](docs/page.md#two-words-here) [self](#front) [web](https://example.org/x)\n"
        "[gone](docs/missing.md) ![img](docs/shot.png) [bad anchor](docs/page.md#nope)\n"
        "`[in code](nowhere.md)`\n\n```\n[fenced](nowhere.md)\n```\n"
        "[ref]: docs/also-missing.md\n")
    problems = broken(readme)
    assert len(problems) == 4, problems
    assert any("docs/missing.md" in p for p in problems)
    assert any("docs/shot.png" in p for p in problems)
    assert any("#nope" in p for p in problems)
    assert any("also-missing" in p for p in problems)


def test_the_checker_finds_named_code_that_is_gone(tmp_path: Path, monkeypatch) -> None:
    """A moved module, a renamed test file and a renamed test function are all reported."""
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    (tmp_path / "crm").mkdir()
    (tmp_path / "crm" / "here.py").write_text("")
    (tmp_path / "tests" / "security").mkdir(parents=True)
    (tmp_path / "tests" / "security" / "test_headers.py").write_text(
        "def test_production_cookies_are_secure():\n    pass\n")
    page = tmp_path / "page.md"
    page.write_text(
        "`crm/here.py` `crm/gone.py` `crm/models/agreement.py`\n"
        "`test_headers.py::test_production_cookies_*` `tests/security/test_headers.py`\n"
        "`test_headers.py::test_renamed` `test_missing.py`\n")
    problems = missing_code(page)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "`crm/gone.py` does not exist",
        "no test `test_renamed` in `test_headers.py`",
        "no test file `test_missing.py`"], problems


@pytest.mark.parametrize(("heading", "anchor"), [
    ("Dashboard, reports, import and export", "dashboard-reports-import-and-export"),
    ("Celery throughput (private Redis, 2 worker processes, one recipient per email)",
     "celery-throughput-private-redis-2-worker-processes-one-recipient-per-email"),
    ("Deploying with docker-compose", "deploying-with-docker-compose"),
    ("Where to put a new capability", "where-to-put-a-new-capability"),
])
def test_slug_matches_github(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor
