"""Kinship in the civil registry (births, adoptions, marriages), as the burial payee-safety rule reads it."""

from __future__ import annotations

from datetime import date

import pytest

from services.eligibility.domain.kinship import relation

ME, DEAD, MOTHER, FATHER, CHILD, GRANDPA, OTHER = ("111", "222", "333", "444", "555", "666", "777")
DIED = date(2026, 10, 1)


@pytest.mark.parametrize(
    ("births", "adoptions", "marriages", "expected"),
    [
        ([{"child_iin": ME, "mother_iin": OTHER, "father_iin": DEAD}], [], [], "child"),
        ([{"child_iin": DEAD, "mother_iin": ME, "father_iin": None}], [], [], "parent"),
        ([{"child_iin": ME, "mother_iin": MOTHER, "father_iin": FATHER},
          {"child_iin": DEAD, "mother_iin": MOTHER, "father_iin": None}], [], [], "sibling"),
        ([{"child_iin": ME, "mother_iin": CHILD, "father_iin": None},
          {"child_iin": CHILD, "mother_iin": None, "father_iin": DEAD}], [], [], "grandchild"),
        ([{"child_iin": DEAD, "mother_iin": CHILD, "father_iin": None},
          {"child_iin": CHILD, "mother_iin": ME, "father_iin": GRANDPA}], [], [], "grandparent"),
        ([], [{"child_iin": ME, "parent_iin": DEAD}], [], "adopted"),
        ([], [{"child_iin": DEAD, "parent_iin": ME}], [], "adoptive_parent"),
        ([], [], [{"iin_a": DEAD, "iin_b": ME, "dissolved_on": None}], "spouse"),
        ([], [], [{"iin_a": ME, "iin_b": DEAD, "dissolved_on": "2026-12-01"}], "spouse"),  # divorced after the death
        ([], [], [{"iin_a": ME, "iin_b": DEAD, "dissolved_on": "2020-01-01"}], None),  # divorced before it
        ([{"child_iin": ME, "mother_iin": OTHER, "father_iin": None}], [{"child_iin": ME, "parent_iin": OTHER}],
         [{"iin_a": ME, "iin_b": OTHER, "dissolved_on": None}], None),  # links to someone else
        ([], [], [], None),
    ],
)
def test_relation_to_the_deceased(births: list, adoptions: list, marriages: list, expected: str | None) -> None:
    """Project decision (payee safety): the automatic burial assignment needs one of these links in the registries."""
    assert relation(ME, DEAD, births=births, adoptions=adoptions, marriages=marriages, on=DIED) == expected
