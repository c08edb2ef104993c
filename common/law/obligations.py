"""The law map: every obligation Order 509 sets on the system, as data (``common/law/obligations.json``).

One entry per obligation: a stable id, the benefit, the paragraph as the code cites it (``B§13 check 2``,
``D-Std p.3``), a short Kazakh quote from the seed, a one-line English statement, a status and a note.
The id fixes the source: ``B13.check2.no-payment-assigned`` is cited as ``B§13 check 2``, ``S-Std3.term`` as
``S-Std p.3`` (docs/law/README.md). A document that breaks a rule is refused whole, every problem named.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from importlib import resources
from typing import Any

_DATA_FILE = "obligations.json"

STATUSES = ("implemented", "project_decision", "out_of_scope", "open")
BENEFITS = ("burial", "disability", "survivor", "common")
_BENEFIT_OF_LETTER = {"B": "burial", "D": "disability", "S": "survivor", "O": "common"}

# How the code cites a paragraph: B§13, D§20-1, B-Std p.9, S-Annex 2, Order 509 p.5; optionally "check n" / "ground n".
SOURCE_RE = re.compile(
    r"^(?:[BDS](?:§\d+(?:-\d+)?|-Std p\.\d+|-Annex \d+)|Order 509 p\.\d+)(?: (?:check|ground) \d+)?$"
)
# The same paragraph written compactly, then the item, then a kebab-case slug of one or more dot-separated parts.
_SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
ID_RE = re.compile(
    rf"^(?P<letter>[BDSO])(?P<kind>-Std|-Annex)?(?P<number>\d+(?:-\d+)?)"
    rf"(?:\.(?P<item>check|ground)(?P<item_number>\d+))?(?:\.{_SLUG})+$"
)
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")


@dataclass(frozen=True)
class Obligation:
    """One thing the seed obliges the system to do, and where the project stands on it."""

    id: str
    benefit: str  # burial | disability | survivor | common
    source: str  # the paragraph as the code cites it, e.g. "B§13 check 2"
    kk: str  # a short exact quote from the seed
    statement: str  # one line: what the system must do
    status: str  # implemented | project_decision | out_of_scope | open
    note: str  # where in the code / the reasoning / why out of scope / what is missing


FIELDS = tuple(f.name for f in fields(Obligation))


class ObligationError(ValueError):
    """The map breaks its rules; ``problems`` names every one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid law map:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


def citation_of(obligation_id: str) -> str:
    """The paragraph an id stands for, as the code cites it: ``B13.check2.x`` -> ``B§13 check 2``."""
    match = ID_RE.match(obligation_id)
    if match is None:
        raise ValueError(f"not an obligation id: {obligation_id!r}")
    letter, kind, number = match["letter"], match["kind"], match["number"]
    if letter == "O":
        paragraph = f"Order 509 p.{number}"
    elif kind == "-Std":
        paragraph = f"{letter}-Std p.{number}"
    elif kind == "-Annex":
        paragraph = f"{letter}-Annex {number}"
    else:
        paragraph = f"{letter}§{number}"
    return f"{paragraph} {match['item']} {match['item_number']}" if match["item"] else paragraph


def _entry_problems(index: int, entry: Any) -> tuple[str, list[str]]:
    """How messages name the entry (with its id when it has one), and everything wrong with it."""
    where = f"obligations[{index}]"
    if not isinstance(entry, Mapping):
        return where, [f"{where}: not an object"]
    text = {name: entry[name] for name in FIELDS if isinstance(entry.get(name), str) and entry[name].strip()}
    oid = text.get("id")
    if oid is not None:
        where = f"{where} ({oid})"
    problems = [f"{where}: missing field {name!r}" for name in FIELDS if name not in entry]
    problems += [f"{where}: unknown field {name!r}" for name in entry if name not in FIELDS]
    problems += [f"{where}: {name!r} must be a non-empty string" for name in FIELDS if name in entry and name not in text]
    if oid is not None and ID_RE.match(oid) is None:
        problems.append(f"{where}: id does not follow <paragraph>[.check<n>|.ground<n>].<slug>")
    if "status" in text and text["status"] not in STATUSES:
        problems.append(f"{where}: unknown status {text['status']!r} (one of {', '.join(STATUSES)})")
    if "benefit" in text and text["benefit"] not in BENEFITS:
        problems.append(f"{where}: unknown benefit {text['benefit']!r} (one of {', '.join(BENEFITS)})")
    source = text.get("source")
    if source is not None and SOURCE_RE.match(source) is None:
        problems.append(f"{where}: source {source!r} is not a citation like 'B§13 check 2', 'D-Std p.3', 'S-Annex 2'")
    elif source is not None:
        expected = _BENEFIT_OF_LETTER["O" if source.startswith("Order") else source[0]]
        if "benefit" in text and text["benefit"] != expected:
            problems.append(f"{where}: source {source!r} belongs to {expected}, not {text['benefit']}")
        if oid is not None and ID_RE.match(oid) and citation_of(oid) != source:
            problems.append(f"{where}: id stands for {citation_of(oid)!r}, source says {source!r}")
    if "kk" in text and not _CYRILLIC.search(text["kk"]):
        problems.append(f"{where}: kk must quote the Kazakh seed")
    if "statement" in text and "\n" in text["statement"]:
        problems.append(f"{where}: statement must be one line")
    return where, problems


def parse_obligations(document: Any) -> dict[str, Obligation]:
    """The obligations of ``document`` by id, in file order; ObligationError naming every problem."""
    if not isinstance(document, Mapping) or not isinstance(document.get("obligations"), list):
        raise ObligationError(["the document must be an object with an 'obligations' list"])
    problems = [f"unknown top-level key {key!r}" for key in document if key not in ("_comment", "obligations")]
    found: dict[str, Obligation] = {}
    for index, entry in enumerate(document["obligations"]):
        where, wrong = _entry_problems(index, entry)
        problems += wrong
        if wrong:
            continue
        obligation = Obligation(**{name: entry[name] for name in FIELDS})
        if obligation.id in found:
            problems.append(f"{where}: duplicate id")
            continue
        found[obligation.id] = obligation
    if problems:
        raise ObligationError(problems)
    return found


def load_obligations() -> dict[str, Obligation]:
    """The law map shipped with the package, validated."""
    text = resources.files("common.law").joinpath(_DATA_FILE).read_text(encoding="utf-8")
    return parse_obligations(json.loads(text))
