"""The trace from the law map to the rules and the tests (tools/traceability.py, docs/law/README.md).

The check runs on this checkout (so `make test` fails when an implemented obligation loses its rule or its test, or a
mark names an unknown id), the committed page is compared with a fresh one, and the checker itself is tested on
small inputs so that it can fail.
"""

from __future__ import annotations

import textwrap

import pytest

from common.law.obligations import Obligation, load_obligations
from tools import traceability
from tools.traceability import CodeMark, MarkedTest, code_marks_of, markers_of, problems, render, scan, unknown_ids


@pytest.fixture(scope="module")
def law_map() -> dict[str, Obligation]:
    return load_obligations()


@pytest.fixture(scope="module")
def marks() -> tuple[list[CodeMark], list[MarkedTest]]:
    return scan()


def test_every_implemented_obligation_has_a_rule_and_a_test_and_every_mark_a_known_id(law_map, marks) -> None:
    """The check of this checkout: nothing to report."""
    code, tests = marks
    found = problems(law_map, code, tests)
    assert found == [], "\n".join(found)


def test_the_committed_page_is_up_to_date(law_map, marks) -> None:
    """docs/law/traceability.md is generated; a stale page fails with the command that regenerates it."""
    page = traceability.ROOT / traceability.PAGE
    expected = render(law_map, *marks)
    assert page.exists(), traceability.WRITE_HINT
    assert page.read_text(encoding="utf-8") == expected, f"docs/law/traceability.md is out of date: {traceability.WRITE_HINT}"


# --- the checker on small inputs -------------------------------------------------------------------------------------


def obligation(oid: str, status: str = "implemented") -> Obligation:
    return Obligation(oid, "burial", "B§13 check 5", "үш жыл", "Check the deadline.", status, "note")


LAW = {o.id: o for o in (
    obligation("B13.check5.within-3-years"),
    obligation("B13.checks-on-every-channel", "project_decision"),
    obligation("B13.portal-eds-certified", "open"),
)}
CODE = textwrap.dedent('''
    def check_deadline(facts):
        """B§13 check 5: within 3 years. [law: B13.check5.within-3-years]"""

    EVERY_CHANNEL = True  # law: B13.checks-on-every-channel
''')
TESTS = textwrap.dedent('''
    import pytest

    @pytest.mark.law("B13.check5.within-3-years")
    def test_deadline():
        pass
''')


def test_a_complete_trace_has_no_problem() -> None:
    assert problems(LAW, code_marks_of(CODE, "rules.py"), markers_of(TESTS, "test_rules.py")) == []


def test_an_implemented_obligation_without_a_test_is_reported() -> None:
    found = problems(LAW, code_marks_of(CODE, "rules.py"), [])
    assert found == ["B13.check5.within-3-years (B§13 check 5) is implemented, but no test names it: "
                     "add @pytest.mark.law('B13.check5.within-3-years') to a test that checks it"]


def test_an_implemented_obligation_without_a_rule_and_a_project_decision_without_one_are_reported() -> None:
    found = problems(LAW, [], markers_of(TESTS, "test_rules.py"))
    assert [p.split(" ", 1)[0] for p in found] == ["B13.check5.within-3-years", "B13.checks-on-every-channel"]
    assert "no rule names it" in found[0] and "project decision" in found[1]


def test_an_unknown_id_in_code_or_in_a_test_is_reported_where_it_stands() -> None:
    code = code_marks_of(CODE + "\n# law: B13.check5.within-3-yeras\n", "rules.py")
    tests = markers_of(TESTS.replace('"B13.check5.within-3-years")', '"B13.check5.within-3-years", "B13.check6.x")'),
                       "test_rules.py")
    found = problems(LAW, code, tests)
    assert "rules.py:7: unknown obligation id 'B13.check5.within-3-yeras' (not in common/law/obligations.json)" in found
    assert "test_rules.py::test_deadline: unknown obligation id 'B13.check6.x' (not in common/law/obligations.json)" in found
    assert unknown_ids(["B13.check6.x", "B13.check5.within-3-years", "B13.check6.x"], LAW) == ["B13.check6.x"]


def test_a_mark_on_an_open_obligation_is_reported() -> None:
    found = problems(LAW, code_marks_of(CODE + "# law: B13.portal-eds-certified\n", "rules.py"),
                     markers_of(TESTS, "test_rules.py"))
    assert found == ["B13.portal-eds-certified is open, but rules.py:6 names it: set its status in obligations.json "
                     "or drop the mark"]


def test_code_marks_docstrings_comments_lists_and_explanation_ids_but_not_code() -> None:
    source = textwrap.dedent('''
        def rule():
            """Several ids, the list going on on the next line. [law: B5.a, B5.b,
            B5.c]"""
            out.rule("x", "B§5", True, obligations=("B5.d",))

        GROUNDS_LAW = {1: "B-Std9.ground1.e"}
        law: dict[str, int] = {}  # an annotation is code, not a mark
    ''')
    found = [(m.id, m.line) for m in code_marks_of(source, "x.py")]
    assert found == [("B5.a", 3), ("B5.b", 3), ("B5.c", 4), ("B5.d", 5), ("B-Std9.ground1.e", 7)]


def test_markers_are_read_from_functions_classes_and_pytestmark() -> None:
    source = textwrap.dedent('''
        import pytest

        pytestmark = [pytest.mark.e2e, pytest.mark.law("B5.m")]

        @pytest.mark.parametrize("x", [1])
        @pytest.mark.law("B5.f", "B5.g")
        async def test_f(x):
            pass

        @pytest.mark.law("B5.c")
        class TestC:
            def test_method(self):
                pass

        def helper():
            pass
    ''')
    found = [(t.id, t.name) for t in markers_of(source, "t.py")]
    assert found == [("B5.m", "test_f"), ("B5.f", "test_f"), ("B5.g", "test_f"), ("B5.m", "TestC::test_method"),
                     ("B5.c", "TestC::test_method")]


def test_the_page_counts_and_lists_what_is_traced_and_what_is_not() -> None:
    page = render(LAW, code_marks_of(CODE, "rules.py"), markers_of(TESTS, "test_rules.py"))
    assert "| burial | 1 | 1 | 0 | 1 | 3 |" in page
    assert "Implemented obligations with a rule and a test naming them: 1 of 1." in page
    assert "`rules.py` `check_deadline`" in page and "`test_rules.py::test_deadline`" in page
    assert "## Open (1)" in page and "| `B13.portal-eds-certified` |" in page
