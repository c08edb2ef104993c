"""The law map (common/law/obligations.json): it loads, it is valid, and its validator refuses a bad map."""

from __future__ import annotations

import copy
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from common.law.obligations import (
    BENEFITS,
    STATUSES,
    Obligation,
    ObligationError,
    citation_of,
    load_obligations,
    parse_obligations,
)

# The law's text, kept in the repository beside the map (docs/law/order-509-kk.txt).
SEED = Path(__file__).resolve().parents[2] / "docs" / "law" / "order-509-kk.txt"

GOOD: dict[str, Any] = {
    "id": "B13.check2.no-payment-assigned",
    "benefit": "burial",
    "source": "B§13 check 2",
    "kk": "біржолғы төлемді тағайындау фактісінің болмауы",
    "statement": "Check that no burial payment has already been assigned for the deceased.",
    "status": "implemented",
    "note": "services/intake/domain/policies/burial.py claims.",
}


@pytest.fixture(scope="module")
def law_map() -> dict[str, Obligation]:
    return load_obligations()


def document(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"_comment": "test", "obligations": [copy.deepcopy(e) for e in entries]}


def changed(**fields: Any) -> dict[str, Any]:
    return GOOD | fields


def test_the_map_loads_with_known_statuses_and_benefits(law_map: dict[str, Obligation]) -> None:
    assert len(law_map) >= 100
    assert all(isinstance(o, Obligation) and o.status in STATUSES and o.benefit in BENEFITS for o in law_map.values())
    assert list(law_map) == [o.id for o in law_map.values()]


def test_every_benefit_is_covered_by_its_rules_and_its_standard(law_map: dict[str, Obligation]) -> None:
    """Each benefit has obligations from its Rules (X§n) and from its standard (X-Std p.n)."""
    for letter, benefit in (("B", "burial"), ("D", "disability"), ("S", "survivor")):
        sources = {o.source for o in law_map.values() if o.benefit == benefit}
        assert any(s.startswith(f"{letter}§") for s in sources), benefit
        assert any(s.startswith(f"{letter}-Std p.") for s in sources), benefit


def test_the_b13_checks_and_the_refusal_grounds_are_all_there(law_map: dict[str, Obligation]) -> None:
    for n in range(1, 6):
        assert any(o.source == f"B§13 check {n}" for o in law_map.values()), n
    for letter in "BDS":
        for n in range(1, 4):
            assert any(o.source == f"{letter}-Std p.9 ground {n}" for o in law_map.values()), (letter, n)


def test_statuses_other_than_implemented_say_why(law_map: dict[str, Obligation]) -> None:
    """project_decision: the reasoning; out_of_scope: why; open: what is missing. A word or two is not enough."""
    short = [o.id for o in law_map.values() if o.status != "implemented" and len(o.note.split()) < 4]
    assert short == []


def test_every_kk_quote_is_in_the_seed(law_map: dict[str, Obligation]) -> None:
    """Quotes are exact, up to line breaks and runs of spaces."""
    seed = re.sub(r"\s+", " ", SEED.read_text(encoding="utf-8"))
    missing = [o.id for o in law_map.values() if re.sub(r"\s+", " ", o.kk) not in seed]
    assert missing == []


@pytest.mark.parametrize(
    ("obligation_id", "citation"),
    [
        ("B13.check2.no-payment-assigned", "B§13 check 2"),
        ("B13.checks-on-every-channel", "B§13"),
        ("D20-1.auto-registration", "D§20-1"),
        ("S-Std3.extension-5wd", "S-Std p.3"),
        ("B-Std9.ground3.no-consent", "B-Std p.9 ground 3"),
        ("S-Annex2.fields", "S-Annex 2"),
        ("O5.entry-into-force", "Order 509 p.5"),
    ],
)
def test_an_id_stands_for_its_citation(obligation_id: str, citation: str) -> None:
    assert citation_of(obligation_id) == citation


@pytest.mark.parametrize("bad", ["B13", "b13.x", "B13.Check2", "B13.x_y", "X13.x", "B-Std.x", "B13..x"])
def test_citation_of_refuses_what_is_not_an_id(bad: str) -> None:
    with pytest.raises(ValueError):
        citation_of(bad)


def test_a_good_document_parses() -> None:
    assert parse_obligations(document(GOOD)) == {GOOD["id"]: Obligation(**GOOD)}


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        ((GOOD, GOOD), "duplicate id"),
        ((changed(status="done"),), "unknown status 'done'"),
        ((changed(benefit="pension"),), "unknown benefit 'pension'"),
        ((changed(note=""),), "'note' must be a non-empty string"),
        ((changed(kk="   "),), "'kk' must be a non-empty string"),
        ((changed(statement=None),), "'statement' must be a non-empty string"),
        ((changed(source="B13 check 2"),), "is not a citation"),
        ((changed(source="B§13 check 3"),), "id stands for 'B§13 check 2', source says 'B§13 check 3'"),
        ((changed(benefit="survivor"),), "belongs to burial, not survivor"),
        ((changed(id="B13.check2.No_Payment"),), "id does not follow"),
        ((changed(kk="no payment assigned"),), "kk must quote the Kazakh seed"),
        ((changed(statement="two\nlines"),), "statement must be one line"),
        ((changed(extra="x"),), "unknown field 'extra'"),
        (({k: v for k, v in GOOD.items() if k != "note"},), "missing field 'note'"),
        (("B13.check2",), "not an object"),
    ],
)
def test_the_validator_refuses_a_bad_entry(entries: tuple[Any, ...], problem: str) -> None:
    with pytest.raises(ObligationError) as refused:
        parse_obligations(document(*entries))
    assert any(problem in p for p in refused.value.problems), refused.value.problems


@pytest.mark.parametrize("doc", [[], {"obligations": {}}, {"items": []}, None])
def test_the_validator_refuses_a_document_without_an_obligations_list(doc: Any) -> None:
    with pytest.raises(ObligationError):
        parse_obligations(doc)


def test_the_validator_refuses_an_unknown_top_level_key() -> None:
    with pytest.raises(ObligationError, match="unknown top-level key 'obligation'"):
        parse_obligations(document(GOOD) | {"obligation": []})


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ObligationError) as refused:
        parse_obligations(document(changed(status="done"), changed(id="D4.x", source="D§4", note=""), GOOD, GOOD))
    problems = refused.value.problems
    assert Counter(p.split(":")[0] for p in problems) == Counter(
        ["obligations[0] (B13.check2.no-payment-assigned)", "obligations[1] (D4.x)", "obligations[1] (D4.x)",
         "obligations[3] (B13.check2.no-payment-assigned)"]
    ), problems
