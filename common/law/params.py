"""The law as dated parameters: value, validity interval, source and confidence (facts.md, Order 509).

Values live in ``common/law/params.json``; next year's budget-law figures are a data change.
A date no value covers raises ``ParameterMissing``: the system refuses to compute, never guesses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from functools import cache
from importlib import resources
from typing import Any

# Every Order 509 value in the file is valid_from 2025-01-01, an ASSUMPTION for the entry into force (the publication
# date is not in the seed). law: O5.entry-into-force
_DATA_FILE = "params.json"

BENEFITS = ("burial", "disability", "survivor")
# Channels per service standard p.2 (B-Std, D-Std, S-Std as amended by Order 509); p.4's forms: electronic and proactive.
# law: B-Std2.channels, D-Std2.channels, S-Std2.channels, B-Std4.form, D-Std4.form, S-Std4.form
CHANNELS: Mapping[str, frozenset[str]] = {
    "burial": frozenset({"state_corp", "portal", "proactive"}),
    "disability": frozenset({"state_corp", "provider", "portal", "proactive"}),
    "survivor": frozenset({"state_corp", "portal", "proactive"}),
}
AUTO_CHANNELS = frozenset({"portal", "proactive"})  # D§20-1, D§21-1: the automated path; law: D24.term-1wd-auto
DISABILITY_CAUSES = ("general_illness", "from_childhood", "child_under_7", "work_injury")
SURVIVOR_MAX_DEPENDANTS_STEP = 6  # "6 or more" share one multiple (facts.md Amounts)


@dataclass(frozen=True)
class Parameter:
    """One value of a legal parameter, in force from ``valid_from`` to ``valid_to`` inclusive (None: open)."""

    name: str
    value: Decimal | int | date
    valid_from: date
    valid_to: date | None
    source: str
    verified: bool
    note: str = ""

    def covers(self, on: date) -> bool:
        """True when this value is in force on ``on``."""
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


class UnknownParameter(LookupError):
    """The parameter name is not declared at all (likely a typo)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown parameter {name!r}")
        self.name = name


class ParameterMissing(LookupError):
    """No value of a declared parameter covers the date: refuse to compute."""

    def __init__(self, name: str, on: date) -> None:
        super().__init__(f"no value of {name!r} is loaded for {on.isoformat()}")
        self.name = name
        self.on = on


class ParameterRegistry:
    """Dated parameters by name; rejects overlapping validity intervals."""

    def __init__(self, parameters: Iterable[Parameter], declared: Iterable[str] = ()) -> None:
        """Index ``parameters`` by name; ``declared`` names are known but may have no value yet."""
        by_name: dict[str, list[Parameter]] = {name: [] for name in declared}
        for p in parameters:
            if p.valid_to is not None and p.valid_to < p.valid_from:
                raise ValueError(f"{p.name}: valid_to {p.valid_to} before valid_from {p.valid_from}")
            by_name.setdefault(p.name, []).append(p)
        self._by_name: dict[str, tuple[Parameter, ...]] = {}
        for name, items in by_name.items():
            items.sort(key=lambda p: p.valid_from)
            for earlier, later in zip(items, items[1:]):
                if earlier.valid_to is None or earlier.valid_to >= later.valid_from:
                    raise ValueError(f"{name}: overlapping values from {earlier.valid_from} and {later.valid_from}")
            self._by_name[name] = tuple(items)

    def names(self) -> tuple[str, ...]:
        """All declared parameter names, sorted."""
        return tuple(sorted(self._by_name))

    def history(self, name: str) -> tuple[Parameter, ...]:
        """All values of ``name`` in date order."""
        if name not in self._by_name:
            raise UnknownParameter(name)
        return self._by_name[name]

    def latest_open(self, name: str) -> Parameter:
        """The open-ended (currently last) value of ``name``; ParameterMissing if the last one has ended."""
        history = self.history(name)
        if not history:
            raise ParameterMissing(name, date.max)
        last = history[-1]
        if last.valid_to is not None:
            raise ParameterMissing(name, last.valid_to + timedelta(days=1))
        return last

    def value_on(self, name: str, on: date) -> Parameter:
        """The value of ``name`` in force on ``on``; ParameterMissing when none is loaded."""
        for p in self.history(name):
            if p.covers(on):
                return p
        raise ParameterMissing(name, on)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_value(raw: Any) -> Decimal | int | date:
    """JSON integers stay int; ISO dates (YYYY-MM-DD) become date; other strings are decimals."""
    if isinstance(raw, bool):
        raise ValueError("a parameter value cannot be a boolean")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and _ISO_DATE.match(raw):
        return date.fromisoformat(raw)
    if isinstance(raw, str):
        return Decimal(raw)
    raise ValueError(f"parameter value must be an integer or a decimal string, got {raw!r}")


def registry_from_data(raw: Mapping[str, Any]) -> ParameterRegistry:
    """Build a registry from the structure of ``common/law/params.json``."""
    parameters = [
        Parameter(
            name=p["name"],
            value=_parse_value(p["value"]),
            valid_from=date.fromisoformat(p["valid_from"]),
            valid_to=date.fromisoformat(p["valid_to"]) if p.get("valid_to") else None,
            source=p["source"],
            verified=bool(p["verified"]),
            note=p.get("note", ""),
        )
        for p in raw["parameters"]
    ]
    declared = [d["name"] for d in raw.get("declared_without_value", [])]
    return ParameterRegistry(parameters, declared)


@cache
def default_registry() -> ParameterRegistry:
    """The registry built from the shipped params.json (built once, on first use)."""
    text = resources.files("common.law").joinpath(_DATA_FILE).read_text(encoding="utf-8")
    return registry_from_data(json.loads(text))


def value_on(name: str, on: date) -> Parameter:
    """The value of ``name`` in force on ``on`` in the default registry."""
    return default_registry().value_on(name, on)


def _num(parameter: Parameter) -> Decimal:
    """A numeric parameter as Decimal; TypeError for a date parameter."""
    if isinstance(parameter.value, date):
        raise TypeError(f"{parameter.name} is a date, not a number")
    return Decimal(parameter.value)


def _whole_tenge_up(amount: Decimal) -> int:
    """Round up to whole tenge (facts.md: published amounts are ПМ × multiple rounded up)."""
    return int(amount.to_integral_value(rounding=ROUND_CEILING))


def burial_amount_kzt(date_of_death: date, registry: ParameterRegistry | None = None) -> int:
    """Burial payment = burial.mci_multiple × MCI in force on the date of death (facts.md Amounts).

    Rounding: the product is computed exactly in Decimal and rounded up to whole tenge
    (ROUND_CEILING); with the loaded 35 × an integer MCI it is always exact.
    ParameterMissing when the MCI for that date is not loaded.
    """
    reg = registry or default_registry()
    multiple = _num(reg.value_on("burial.mci_multiple", date_of_death))
    mci = _num(reg.value_on("mci", date_of_death))
    return _whole_tenge_up(multiple * mci)


def disability_multiplier(cause: str, group: int, on: date, registry: ParameterRegistry | None = None) -> Parameter:
    """Multiple of the subsistence minimum per cause and group (facts.md Amounts, Social Code art. 177)."""
    if cause not in DISABILITY_CAUSES:
        raise ValueError(f"cause must be one of {', '.join(DISABILITY_CAUSES)}")
    if group not in (1, 2, 3):
        raise ValueError("group must be 1, 2 or 3")
    return (registry or default_registry()).value_on(f"disability.multiplier.{cause}.group_{group}", on)


def disability_monthly_kzt(cause: str, group: int, on: date, registry: ParameterRegistry | None = None) -> int:
    """Monthly disability benefit = subsistence minimum on ``on`` × multiple, rounded up (facts.md Amounts)."""
    reg = registry or default_registry()
    multiple = _num(disability_multiplier(cause, group, on, reg))
    minimum = _num(reg.value_on("subsistence_minimum", on))
    return _whole_tenge_up(minimum * multiple)


def survivor_multiplier(dependants: int, on: date, registry: ParameterRegistry | None = None) -> Parameter:
    """Family multiple of the subsistence minimum by number of dependants, 6+ shared (facts.md Amounts)."""
    if dependants < 1:
        raise ValueError("at least one dependant is needed")
    step = min(dependants, SURVIVOR_MAX_DEPENDANTS_STEP)
    return (registry or default_registry()).value_on(f"survivor.multiplier.dependants_{step}", on)


def _term_name(benefit: str, channel: str, auto: bool, registry: ParameterRegistry) -> str:
    """Parameter name of the service term (B-Std p.3, D§24 / D-Std p.3, S§24; the extension: D-Std p.3, S-Std p.3), found by data, not by benefit name.

    ``term.<benefit>.auto`` for the automated path (declared only where the law has one: D§20-1, D§21-1),
    else ``term.<benefit>.<channel>`` where a channel has its own term (B-Std p.3), else ``term.<benefit>.default``.
    """
    if benefit not in CHANNELS:
        raise ValueError(f"benefit must be one of {', '.join(BENEFITS)}")
    if channel not in CHANNELS[benefit]:
        raise ValueError(f"channel {channel!r} is not a channel of {benefit} ({', '.join(sorted(CHANNELS[benefit]))})")
    declared = set(registry.names())
    if auto:
        if f"term.{benefit}.auto" not in declared or channel not in AUTO_CHANNELS:
            raise ValueError("auto applies only to disability via portal or proactive (D§20-1, D§21-1)")
        return f"term.{benefit}.auto"
    own = f"term.{benefit}.{channel}"
    return own if own in declared else f"term.{benefit}.default"


def service_term_days(
    benefit: str,
    channel: str,
    *,
    auto: bool = False,
    on: date | None = None,
    registry: ParameterRegistry | None = None,
) -> int:
    """Term of service in working days (B-Std p.3; D§24 / D-Std p.3; S§24).

    [law: B-Std3.term-state-corp-3wd, B-Std3.term-portal-proactive-1wd, D24.term-7wd, D24.term-1wd-auto, S24.term-7wd]

    ``auto``: disability from general illness or work injury via portal or proactive (1 day).
    ``on``: the registration date; None takes the value in force under the latest loaded rules
    (the open-ended one). The +5-day extension is ``term.extension.documents``.
    """
    reg = registry or default_registry()
    return _int_value(_term_name(benefit, channel, auto, reg), on, reg)


def extension_days(on: date | None = None, registry: ParameterRegistry | None = None) -> int:
    """Working days added when the State Corporation requests additional documents (D-Std p.3, S-Std p.3).

    The burial standard has no extension; the same days are added by project decision.
    [law: D-Std3.extension-5wd, S-Std3.extension-5wd, B-Std3.extension-5wd]
    """
    return _int_value("term.extension.documents", on, registry)


def _int_value(name: str, on: date | None, registry: ParameterRegistry | None) -> int:
    """Integer value on ``on``, or the open-ended latest value when ``on`` is None."""
    reg = registry or default_registry()
    parameter = reg.value_on(name, on) if on is not None else reg.latest_open(name)
    if not isinstance(parameter.value, (int, Decimal)):
        raise TypeError(f"{name} is not a number")
    return int(parameter.value)


def int_on(name: str, on: date, registry: ParameterRegistry | None = None) -> int:
    """An integer parameter (months, years, days) in force on ``on``."""
    return _int_value(name, on, registry)


def date_on(name: str, on: date, registry: ParameterRegistry | None = None) -> date:
    """A date parameter (a registry cut-off) in force on ``on``."""
    value = (registry or default_registry()).value_on(name, on).value
    if not isinstance(value, date):
        raise TypeError(f"{name} is not a date")
    return value


def retro_months(benefit: str, on: date, registry: ParameterRegistry | None = None) -> int:
    """How many calendar months back a monthly benefit may start (D§4/D§24: 3; S§24: 12)."""
    return _int_value(f"{benefit}.retro_months", on, registry)


def subsistence_minimum_kzt(on: date, registry: ParameterRegistry | None = None) -> int:
    """The subsistence minimum (ПМ) in force on ``on``, tenge per month (facts.md Indices)."""
    return _int_value("subsistence_minimum", on, registry)


def survivor_monthly_kzt(dependants: int, on: date, registry: ParameterRegistry | None = None) -> int:
    """Monthly survivor benefit for the family = ПМ on ``on`` × multiple by eligible dependants, rounded up."""
    reg = registry or default_registry()
    multiple = _num(survivor_multiplier(dependants, on, reg))
    minimum = Decimal(subsistence_minimum_kzt(on, reg))
    return _whole_tenge_up(minimum * multiple)
