"""``python -m tools.traceability [--write]``: from the law map to the rules and the tests, checked.

The law map (``common/law/obligations.json``) names every obligation of Order 509; code and tests name the ids they
implement or check, one way everywhere (docs/law/README.md "Tracing rules and tests to obligations"):

* code (every ``*.py`` outside ``tests/`` and ``.venv``): a comment or a docstring mark ``law: <id>[, <id>…]``
  (e.g. ``[law: B13.check5.within-3-years]`` at the end of a rule's docstring, ``# law: D4.period-start-cap`` above a
  constant or a branch), found by ``MARK_RE``; and the ids a rule writes into its explanation lines: a literal
  ``obligations=("…", …)`` keyword argument (common.events.RuleResult.obligations), or the strings of a literal bound
  to a name ending in ``_law`` / ``_LAW`` (e.g. a policy's ``grounds_law = {1: "B-Std9.ground1.unreliable", …}``);
* tests (``tests/**/*.py``): the pytest marker ``@pytest.mark.law("<id>", …)`` on a test function or method, on a
  class, or in a module's ``pytestmark``, read from the source (AST), not by importing it.

The check fails (exit 1, every problem printed) when an ``implemented`` obligation has no rule or no test naming it,
a ``project_decision`` has no rule naming it, an ``out_of_scope`` or ``open`` obligation is named anyway (move it to
``implemented`` or drop the mark), or code or a test names an id that is not in the map. ``--write`` then writes the
generated page ``docs/law/traceability.md`` (obligation → paragraph → rules → tests, by benefit);
``tests/unit/test_traceability.py`` runs the check and compares the committed page with a fresh one.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import sys
import tokenize
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from common.law.obligations import BENEFITS, STATUSES, Obligation, load_obligations

ROOT = Path(__file__).resolve().parent.parent
PAGE = Path("docs/law/traceability.md")
WRITE_HINT = "run python -m tools.traceability --write"

# One id: the obligations.ID_RE alphabet (letters, digits, '-', '.'); several are comma-separated, and in a docstring
# a long list may go on on the next line. Only comments and string literals are searched, so code such as an
# annotation ``law: dict[str, LawRef]`` is never read as a mark.
_ID = r"[A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9]"
MARK_RE = re.compile(rf"\blaw: ({_ID}(?:,\s*{_ID})*)")
_ID_RE = re.compile(_ID)
_PROSE = {tokenize.COMMENT, tokenize.STRING} | ({tokenize.FSTRING_MIDDLE} if hasattr(tokenize, "FSTRING_MIDDLE") else set())
# Folders never scanned for code marks (tests are read for their markers instead).
SKIPPED_DIRS = frozenset({".venv", "venv", ".git", ".data", "node_modules", "__pycache__", "tests", "build", "dist",
                          ".mypy_cache", ".ruff_cache", ".pytest_cache"})
# This file explains the mark and would otherwise mark itself.
SELF = Path("tools/traceability.py")


@dataclass(frozen=True)
class CodeMark:
    """A place in the code that says it implements ``id``."""

    id: str
    path: str
    line: int
    scope: str = ""  # the enclosing class/function (``Class.method``), "" at module level: stable across edits


@dataclass(frozen=True)
class MarkedTest:
    """A test that says it checks ``id``: ``path::name`` (``name`` may be ``Class::method``)."""

    id: str
    path: str
    name: str
    line: int


# --- reading the marks ---------------------------------------------------------------------------------------------


def ids_of_mark(text: str) -> list[tuple[str, int]]:
    """The ids the ``law:`` marks in ``text`` name, in order, each with the offset where it stands."""
    return [(m[0], match.start(1) + m.start()) for match in MARK_RE.finditer(text) for m in _ID_RE.finditer(match[1])]


def _prose(source: str) -> list[tuple[str, int]]:
    """The comments and string literals of ``source``, each with the line it starts on (1-based)."""
    try:
        return [(t.string, t.start[0]) for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type in _PROSE]
    except (tokenize.TokenError, SyntaxError):
        return [(line, number) for number, line in enumerate(source.splitlines(), start=1) if "#" in line]


def _scopes(tree: ast.AST) -> list[tuple[int, int, str]]:
    """(first line, last line, qualified name) of every class and function, outer ones first."""
    found: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                found.append((child.lineno, child.end_lineno or child.lineno, name))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def _scope_at(scopes: list[tuple[int, int, str]], line: int) -> str:
    inner = [name for first, last, name in scopes if first <= line <= last]
    return inner[-1] if inner else ""


def code_marks_of(source: str, path: str) -> list[CodeMark]:
    """The marks of one code file: ``law:`` in comments and docstrings, and literal ``obligations=(…)`` arguments."""
    marks = [
        CodeMark(oid, path, line + text.count("\n", 0, offset))
        for text, line in _prose(source)
        for oid, offset in ids_of_mark(text)
    ]
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return marks
    scopes = _scopes(tree)
    marks = [CodeMark(m.id, m.path, m.line, _scope_at(scopes, m.line)) for m in marks]
    for node in ast.walk(tree):
        items: list[ast.expr] = []
        if isinstance(node, ast.keyword) and node.arg == "obligations" and isinstance(node.value, (ast.Tuple, ast.List)):
            items = node.value.elts
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and any(
            isinstance(t, ast.Name) and t.id.lower().endswith("_law")
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        ):
            items = [n for n in ast.walk(node.value) if isinstance(n, ast.expr)]
        marks += [
            CodeMark(item.value, path, item.lineno, _scope_at(scopes, item.lineno))
            for item in items
            if isinstance(item, ast.Constant) and isinstance(item.value, str)
        ]
    return sorted(set(marks), key=lambda m: (m.path, m.line, m.id))


def _law_marker_ids(node: ast.expr) -> list[str] | None:
    """The ids of ``pytest.mark.law("…", …)`` (None when ``node`` is another expression)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "law"):
        return None
    owner = node.func.value
    if not (isinstance(owner, ast.Attribute) and owner.attr == "mark"):
        return None
    return [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else f"<not a string: {ast.unparse(a)}>"
            for a in node.args]


def _pytestmark_ids(body: Sequence[ast.stmt]) -> list[str]:
    """The ids of ``pytestmark = pytest.mark.law(…)`` or ``pytestmark = [..., pytest.mark.law(…)]`` in ``body``."""
    found: list[str] = []
    for statement in body:
        if isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark"
                                                     for t in statement.targets):
            value = statement.value
            items = value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]
            for item in items:
                found += _law_marker_ids(item) or []
    return found


def _decorator_ids(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> list[str]:
    return [oid for d in node.decorator_list for oid in (_law_marker_ids(d) or [])]


def markers_of(source: str, path: str) -> list[MarkedTest]:
    """The tests of one test file and the ids their markers name (module, class and function markers add up)."""
    tree = ast.parse(source)
    module_ids = _pytestmark_ids(tree.body)
    marks: list[MarkedTest] = []

    def tests_in(body: Sequence[ast.stmt], inherited: list[str], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                for oid in dict.fromkeys(inherited + _decorator_ids(node)):
                    marks.append(MarkedTest(oid, path, prefix + node.name, node.lineno))
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                tests_in(node.body, inherited + _decorator_ids(node) + _pytestmark_ids(node.body), f"{node.name}::")

    tests_in(tree.body, module_ids, "")
    return marks



def _code_files(root: Path) -> Iterable[Path]:
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative == SELF or any(part in SKIPPED_DIRS or part.endswith(".egg-info") for part in relative.parts[:-1]):
            continue
        yield path


def scan(root: Path = ROOT) -> tuple[list[CodeMark], list[MarkedTest]]:
    """Every code mark outside tests/ and every test marker under tests/, paths relative to ``root``."""
    code = [m for p in _code_files(root) for m in code_marks_of(p.read_text(encoding="utf-8"), p.relative_to(root).as_posix())]
    tests = [
        m
        for p in sorted((root / "tests").rglob("*.py"))
        for m in markers_of(p.read_text(encoding="utf-8"), p.relative_to(root).as_posix())
    ]
    return code, tests


# --- the check -----------------------------------------------------------------------------------------------------


def unknown_ids(ids: Iterable[str], known: Mapping[str, Obligation]) -> list[str]:
    """The ids not in the map, in order, once each (the conftest hook refuses a test that names one)."""
    return [oid for oid in dict.fromkeys(ids) if oid not in known]


def problems(obligations: Mapping[str, Obligation], code: Sequence[CodeMark], tests: Sequence[MarkedTest]) -> list[str]:
    """Everything wrong with the trace; empty when the law map, the rules and the tests agree."""
    ruled = {m.id for m in code}
    tested = {m.id for m in tests}
    found: list[str] = []
    for obligation in obligations.values():
        oid, status = obligation.id, obligation.status
        if status == "implemented" and oid not in ruled:
            found.append(f"{oid} ({obligation.source}) is implemented, but no rule names it: mark the code with 'law: {oid}'")
        if status == "implemented" and oid not in tested:
            found.append(f"{oid} ({obligation.source}) is implemented, but no test names it: "
                         f"add @pytest.mark.law({oid!r}) to a test that checks it")
        if status == "project_decision" and oid not in ruled:
            found.append(f"{oid} ({obligation.source}) is a project decision, but no rule names it: "
                         f"mark the code that makes it with 'law: {oid}'")
        if status in ("out_of_scope", "open") and (oid in ruled or oid in tested):
            where = [f"{m.path}:{m.line}" for m in code if m.id == oid] + [f"{m.path}::{m.name}" for m in tests if m.id == oid]
            found.append(f"{oid} is {status}, but {', '.join(where)} names it: set its status in obligations.json "
                         "or drop the mark")
    for mark in code:
        if mark.id not in obligations:
            found.append(f"{mark.path}:{mark.line}: unknown obligation id {mark.id!r} (not in common/law/obligations.json)")
    for test in tests:
        if test.id not in obligations:
            found.append(f"{test.path}::{test.name}: unknown obligation id {test.id!r} (not in common/law/obligations.json)")
    return found


# --- the page ------------------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(obligations: Mapping[str, Obligation], code: Sequence[CodeMark], tests: Sequence[MarkedTest]) -> str:
    """docs/law/traceability.md: counts, then per benefit each obligation with its rules and tests, then the rest."""
    rules_of: dict[str, list[CodeMark]] = defaultdict(list)
    tests_of: dict[str, list[MarkedTest]] = defaultdict(list)
    for mark in code:
        rules_of[mark.id].append(mark)
    for test in tests:
        tests_of[test.id].append(test)
    counts = Counter((o.benefit, o.status) for o in obligations.values())
    traced = [o for o in obligations.values() if o.status == "implemented" and rules_of[o.id] and tests_of[o.id]]
    implemented = sum(1 for o in obligations.values() if o.status == "implemented")
    out = [
        "# Traceability: the law map, the rules, the tests",
        "",
        "Generated by `python -m tools.traceability --write` from `common/law/obligations.json`, the `law:` marks",
        "in the code and the `@pytest.mark.law` markers of the tests; do not edit by hand",
        "(`tests/unit/test_traceability.py` fails when this page is out of date). How to mark: docs/law/README.md.",
        "",
        "| benefit | " + " | ".join(s.replace("_", " ") for s in STATUSES) + " | total |",
        "|---|" + "---|" * (len(STATUSES) + 1),
    ]
    for benefit in BENEFITS:
        row = [counts[(benefit, s)] for s in STATUSES]
        out.append(f"| {benefit} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    totals = [sum(counts[(b, s)] for b in BENEFITS) for s in STATUSES]
    out += [
        "| **all** | " + " | ".join(f"**{n}**" for n in totals) + f" | **{sum(totals)}** |",
        "",
        f"Implemented obligations with a rule and a test naming them: {len(traced)} of {implemented}.",
        "",
    ]
    for benefit in BENEFITS:
        rows = [o for o in obligations.values() if o.benefit == benefit and o.status in ("implemented", "project_decision")]
        if not rows:
            continue
        out += [f"## {benefit.capitalize()}", "", "| obligation | paragraph | status | rules | tests |", "|---|---|---|---|---|"]
        for o in rows:
            # By file and enclosing function, not line: the page stays current while code around a rule moves.
            places = dict.fromkeys(f"`{m.path}`" + (f" `{m.scope}`" if m.scope else "") for m in rules_of[o.id])
            rules = "<br>".join(places) or "—"
            checked = "<br>".join(f"`{t.path}::{t.name}`" for t in tests_of[o.id]) or "—"
            status = "implemented" if o.status == "implemented" else "project decision"
            out.append(f"| `{o.id}`<br>{_cell(o.statement)} | {o.source} | {status} | {rules} | {checked} |")
        out.append("")
    for status, title in (("out_of_scope", "Out of scope"), ("open", "Open")):
        rows = [o for o in obligations.values() if o.status == status]
        out += [f"## {title} ({len(rows)})", "", "| obligation | paragraph | statement | note |", "|---|---|---|---|"]
        out += [f"| `{o.id}` | {o.source} | {_cell(o.statement)} | {_cell(o.note)} |" for o in rows]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.traceability", description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write {PAGE.as_posix()} (also when the check fails)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout (default: this one)")
    args = parser.parse_args(argv)
    obligations = load_obligations()
    code, tests = scan(args.root)
    if args.write:
        page = args.root / PAGE
        page.write_text(render(obligations, code, tests), encoding="utf-8")
        print(f"wrote {PAGE.as_posix()}")
    found = problems(obligations, code, tests)
    for problem in found:
        print(problem, file=sys.stderr)
    if found:
        print(f"{len(found)} traceability problems", file=sys.stderr)
        return 1
    ruled, tested = {m.id for m in code}, {m.id for m in tests}
    print(f"traceability ok: {len(obligations)} obligations, {len(ruled)} named by rules, {len(tested)} by tests")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
