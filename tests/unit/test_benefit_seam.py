"""The benefit is a seam (docs/benefits.md): no service branches on a benefit's name outside its domain/.

A comparison such as ``benefit == "burial"`` or ``benefit in ("burial", "survivor")`` in a handler, an
adapter, an API module or the composition root is how `if benefit == ...` chains start to spread; per-benefit
behaviour belongs in the service's policy modules under ``domain/``, looked up by name in a registry.
"""

from __future__ import annotations

import ast
from pathlib import Path

from common.law.params import BENEFITS

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "eligibility", "decision", "payment_queue", "notifier")


def _names_a_benefit(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and node.value in BENEFITS:
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_names_a_benefit(e) for e in node.elts)
    return False


def benefit_branches(source: str) -> list[int]:
    """Line numbers of comparisons against a benefit's name (==, !=, in, not in)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and any(_names_a_benefit(n) for n in (node.left, *node.comparators)):
            lines.append(node.lineno)
        if isinstance(node, ast.match_case) and _names_a_benefit(getattr(node.pattern, "value", None) or ast.Pass()):
            lines.append(node.pattern.lineno)
    return lines


def test_the_detector_finds_a_benefit_branch() -> None:
    """The check below could fail: these shapes are what it looks for."""
    assert benefit_branches('if benefit == "burial":\n    pass\n') == [1]
    assert benefit_branches('x = app.benefit in ("disability", "survivor")\n') == [1]
    assert benefit_branches('POLICIES = {"burial": 1}\nif name == "other":\n    pass\n') == []


def test_no_service_branches_on_a_benefit_outside_its_domain() -> None:
    found = []
    for service in SERVICES:
        for path in sorted((ROOT / "services" / service).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "domain" in relative.parts or "migrations" in relative.parts:
                continue
            found += [f"{relative}:{line}" for line in benefit_branches(path.read_text(encoding="utf-8"))]
    assert found == [], "move these into the benefit's policy module under domain/: " + ", ".join(found)


def test_every_service_has_a_policy_for_every_benefit_and_names_a_missing_one() -> None:
    """docs/benefits.md: each service's registry covers every benefit; a missing one is named, not a bare KeyError."""
    import importlib

    import pytest

    for service in SERVICES:
        registry = importlib.import_module(f"services.{service}.domain.policies").POLICIES
        assert set(registry) == set(BENEFITS), service
        with pytest.raises(KeyError, match=f"no {service} policy for benefit 'pension'"):
            registry.of("pension")
