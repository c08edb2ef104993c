"""Kinship between two persons as the civil registry shows it (births, adoptions, marriages): pure."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from services.eligibility.domain.model import Record, parse_day

# Project decision (payee safety): the automatic burial assignment needs the applicant shown by the registries as
# related to the deceased; B§5 pays whoever carried out the burial, which the portal cannot show, so anyone else's
# application goes to a specialist (never refused for it). law: B19-1.payee-safety
BURIAL_KINSHIP = "project decision: the automatic burial assignment needs kinship to the deceased in the registries"


def _parents(births: Iterable[Record], child: str) -> set[str]:
    return {p for b in births if b.get("child_iin") == child for p in (b.get("mother_iin"), b.get("father_iin")) if p}


def _children(births: Iterable[Record], parent: str) -> set[str]:
    return {str(b.get("child_iin")) for b in births if parent in (b.get("mother_iin"), b.get("father_iin"))}


def relation(
    person: str,
    other: str,
    *,
    births: Iterable[Record],
    adoptions: Iterable[Record],
    marriages: Iterable[Record],
    on: date | None,
) -> str | None:
    """How ``person`` is related to ``other``: child, parent, sibling, grandchild, grandparent, adopted,
    adoptive_parent or spouse (a marriage not dissolved before ``on``); None when the records show no link.

    ``births`` holds both persons' answers: each one's own birth (their parents) and their children's births.
    """
    births = list(births)
    mine, theirs = _parents(births, person), _parents(births, other)
    if other in mine:
        return "child"
    if person in theirs:
        return "parent"
    if mine & theirs:
        return "sibling"
    if mine & _children(births, other):
        return "grandchild"
    if theirs & _children(births, person):
        return "grandparent"
    for a in adoptions:
        if (a.get("child_iin"), a.get("parent_iin")) == (person, other):
            return "adopted"
        if (a.get("child_iin"), a.get("parent_iin")) == (other, person):
            return "adoptive_parent"
    for m in marriages:
        if {m.get("iin_a"), m.get("iin_b")} == {person, other}:
            dissolved = parse_day(m.get("dissolved_on"))
            if dissolved is None or (on is not None and dissolved > on):
                return "spouse"
    return None
