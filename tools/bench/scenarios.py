"""Synthetic cases for the benchmark: realistic registry data and the body each channel files.

Every case is a fresh set of people (valid IINs, own IBANs, phones) with the registry records the
sandbox needs (``POST /sandbox/fixtures``, sandbox/models.py) and one application body. The mix is
deterministic for a seed: benefits by weight (smooth weighted round robin), and within each benefit
a fixed deck of channel/path variants, so two cases per benefit already cover the automatic path and
a specialist's signature.

Which path a variant takes (docs/benefits.md "Per benefit", "Payee safety"; tests/e2e/*_flow.py):

* burial: portal / proactive with the applicant's own account and a birth record linking them to the
  deceased pensioner → signed by the system, payment queued; State Corporation desk → a specialist
  signs; a deceased whose pension ended years before → refused (proactive, B§19-1) or rejected before
  registration (portal, B§13 check 4).
* disability: general illness on portal / proactive → signed by the system (D§20-1); State Corporation
  desk, the provider (first establishment, D-Std p.2) and "from childhood" on the portal → a specialist
  signs; no disability record on the portal → refused (no_disability).
* survivor: always a specialist (S-Std p.2); a mother for her minor children (births), sometimes with a
  19-year-old in full-time study (studies, S§7).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable

from common.identifiers import check_digit

BENEFITS = ("burial", "disability", "survivor")

# Role that files through each channel (api.md "Role ↔ channel").
ROLE_OF_CHANNEL = {"portal": "citizen", "proactive": "mobile", "state_corp": "operator", "provider": "specialist"}

# Final statuses (services/intake/domain/status.py): paid is terminal; payment_queued is final for the
# benchmark (the payments database acknowledges `paid` on its own schedule, PAYMENTS_PAID_POLL_S).
PAID = ("payment_queued", "paid")
FINAL = frozenset({"payment_queued", "paid", "refused", "rejected"})

_LAST = ["Ахметов", "Омаров", "Беков", "Сейітов", "Нұрланов", "Жақсыбеков", "Иванов", "Ким", "Тоқтаров", "Әбілов"]
_FIRST_M = ["Серік", "Данияр", "Арман", "Қайрат", "Ерлан", "Бауыржан", "Нұрлан", "Тимур"]
_FIRST_F = ["Айгүл", "Сая", "Динара", "Гүлнар", "Әсел", "Мадина", "Жанар", "Бибігүл"]
_BANKS = ["125", "601", "722", "998", "914", "856"]


@dataclass
class Case:
    """One synthetic application: who files it, with what, and what the law makes of it."""

    n: int
    scenario: str
    benefit: str
    channel: str
    path: str  # "automatic" or "specialist" (who signs)
    expected: str  # "paid" (payment_queued/paid), "refused" or "rejected"
    body: dict[str, Any]
    fixtures: dict[str, list[dict[str, Any]]]
    role: str
    sub: str
    results: dict[str, Any] = field(default_factory=dict)


class People:
    """Fresh, unique, valid identifiers for one run (seeded)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._iins: set[str] = set()
        self._phones: set[str] = set()

    def iin(self, born: date, sex: str) -> str:
        digit = {(1800, "M"): "1", (1800, "F"): "2", (1900, "M"): "3", (1900, "F"): "4", (2000, "M"): "5", (2000, "F"): "6"}[
            (born.year // 100 * 100, sex)
        ]
        while True:
            first11 = f"{born:%y%m%d}{digit}{self.rng.randrange(10_000):04d}"
            check = check_digit(first11)
            if check is None:
                continue
            iin = f"{first11}{check}"
            if iin not in self._iins:
                self._iins.add(iin)
                return iin

    def born_between(self, oldest: date, youngest: date) -> date:
        return oldest + timedelta(days=self.rng.randrange((youngest - oldest).days + 1))

    def person(self, born: date, sex: str) -> tuple[str, dict[str, Any]]:
        iin = self.iin(born, sex)
        first = self.rng.choice(_FIRST_M if sex == "M" else _FIRST_F)
        last = self.rng.choice(_LAST) + ("а" if sex == "F" and not self.rng.random() < 0.2 else "")
        return iin, {"iin": iin, "last_name": last, "first_name": first, "birth_date": born.isoformat()}

    def iban(self) -> str:
        bban = self.rng.choice(_BANKS) + "KZT" + f"{self.rng.randrange(10**10):010d}"
        rearranged = bban + "KZ00"
        check = 98 - int("".join(str(int(c, 36)) for c in rearranged)) % 97
        return f"KZ{check:02d}{bban}"

    def phone(self) -> str:
        while True:
            phone = f"+77{self.rng.choice(['01', '02', '05', '07', '47', '71', '75', '77'])}{self.rng.randrange(10**7):07d}"
            if phone not in self._phones:
                self._phones.add(phone)
                return phone


def _months_back(d: date, months: int) -> date:
    total = d.year * 12 + (d.month - 1) - months
    year, month = divmod(total, 12)
    import calendar

    return date(year, month + 1, min(d.day, calendar.monthrange(year, month + 1)[1]))


def _years_back(d: date, years: int, days: int = 0) -> date:
    try:
        born = d.replace(year=d.year - years)
    except ValueError:
        born = d.replace(year=d.year - years, day=28)
    return born - timedelta(days=days)


def _merge(*sets: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for s in sets:
        for key, items in s.items():
            out.setdefault(key, []).extend(items)
    return out


def _base(benefit: str, channel: str, applicant: str, iban: str | None, phone: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "benefit": benefit,
        "channel": channel,
        "applicant": {"iin": applicant},
        "consents": {"personal_data": True, "proactive": channel == "proactive"},
    }
    if phone:
        body["phone"] = phone
    if iban:
        body["bank_account"] = {"iban": iban}
    return body


# --- burial ----------------------------------------------------------------------------------------

def _burial(p: People, today: date, channel: str, *, pensioner: bool) -> tuple[dict, dict]:
    died = today - timedelta(days=p.rng.randrange(3, 60))
    dec_born = p.born_between(date(1930, 1, 1), date(1955, 12, 31))
    deceased, dec_person = p.person(dec_born, "M" if p.rng.random() < 0.55 else "F")
    child_born = p.born_between(_years_back(dec_born, -20), _years_back(dec_born, -38))
    sex = "M" if p.rng.random() < 0.5 else "F"
    applicant, app_person = p.person(child_born, sex)
    iban = p.iban()
    parent = "father_iin" if dec_person["iin"][6] in "135" else "mother_iin"
    pension_from = _years_back(dec_born, -63).isoformat()
    recipient = {"iin": deceased, "kind": "age_pension", "from": pension_from, "to": None}
    if not pensioner:  # the pension ended years before the death: not a recipient (B§13 check 4)
        recipient["to"] = _years_back(died, 3).isoformat()
    fixtures = {
        "persons": [dec_person, app_person],
        "deaths": [{"iin": deceased, "date": died.isoformat()}],
        "recipients": [recipient],
        "births": [{"child_iin": applicant, parent: deceased, "date": child_born.isoformat()}],
        "bank_accounts": [{"iin": applicant, "iban": iban}],
    }
    phone = p.phone() if channel in ("proactive", "state_corp") else None
    body = _base("burial", channel, applicant, iban, phone) | {"deceased_iin": deceased}
    return body, fixtures


# --- disability ------------------------------------------------------------------------------------

def _disability(p: People, today: date, channel: str, *, cause: str | None) -> tuple[dict, dict]:
    if cause == "childhood":
        born = p.born_between(date(1995, 1, 1), date(2007, 12, 31))
    else:
        born = p.born_between(date(1966, 1, 1), date(2000, 12, 31))
    sex = "M" if p.rng.random() < 0.5 else "F"
    applicant, person = p.person(born, sex)
    iban = p.iban()
    fixtures: dict[str, list[dict[str, Any]]] = {"persons": [person], "bank_accounts": [{"iin": applicant, "iban": iban}]}
    if cause is not None:
        established = _months_back(today, p.rng.randrange(0, 3)) - timedelta(days=p.rng.randrange(0, 10))
        fixtures["disabilities"] = [
            {"iin": applicant, "group": p.rng.choice([1, 2, 2, 3, 3]), "cause": cause, "established_on": established.isoformat(), "until": None}
        ]
    phone = p.phone() if channel in ("proactive", "state_corp", "provider") else None
    return _base("disability", channel, applicant, iban, phone), fixtures


# --- survivor --------------------------------------------------------------------------------------

def _survivor(p: People, today: date, channel: str, *, children: int, student: bool) -> tuple[dict, dict]:
    died = _months_back(today, p.rng.randrange(1, 10))
    father_born = p.born_between(date(1968, 1, 1), date(1990, 12, 31))
    mother_born = p.born_between(date(1978, 1, 1), date(1995, 12, 31))
    father, father_person = p.person(father_born, "M")
    mother, mother_person = p.person(mother_born, "F")
    kids: list[tuple[str, date]] = []
    persons = [father_person, mother_person]
    for _ in range(children):
        age = p.rng.randrange(2, 16)
        born = _years_back(today, age, days=p.rng.randrange(30, 300))
        iin, person = p.person(born, "M" if p.rng.random() < 0.5 else "F")
        kids.append((iin, born))
        persons.append(person)
    studies = []
    if student:
        born = _years_back(today, 19, days=p.rng.randrange(30, 200))
        iin, person = p.person(born, "M" if p.rng.random() < 0.5 else "F")
        kids.append((iin, born))
        persons.append(person)
        studies.append({"iin": iin, "form": "full_time", "from": (today - timedelta(days=80)).isoformat(), "to": None})
    iban = p.iban()
    fixtures: dict[str, list[dict[str, Any]]] = {
        "persons": persons,
        "deaths": [{"iin": father, "date": died.isoformat()}],
        "marriages": [{"iin_a": father, "iin_b": mother, "date": _years_back(mother_born, -24).isoformat(), "dissolved_on": None}],
        "births": [{"child_iin": iin, "mother_iin": mother, "father_iin": father, "date": born.isoformat()} for iin, born in kids],
        "bank_accounts": [{"iin": mother, "iban": iban}],
    }
    if studies:
        fixtures["studies"] = studies
    phone = p.phone() if channel in ("proactive", "state_corp") else None
    body = _base("survivor", channel, mother, iban, phone) | {"deceased_iin": father, "dependants": [iin for iin, _ in kids]}
    return body, fixtures


Variant = tuple[str, str, str, str, Callable[[People, date], tuple[dict, dict]]]  # name, channel, path, expected, build

# Decks: cycled per benefit; the first two of each are the automatic path and a specialist's signature.
DECKS: dict[str, list[Variant]] = {
    "burial": [
        ("burial.proactive", "proactive", "automatic", "paid", lambda p, t: _burial(p, t, "proactive", pensioner=True)),
        ("burial.state_corp", "state_corp", "specialist", "paid", lambda p, t: _burial(p, t, "state_corp", pensioner=True)),
        ("burial.portal", "portal", "automatic", "paid", lambda p, t: _burial(p, t, "portal", pensioner=True)),
        ("burial.proactive", "proactive", "automatic", "paid", lambda p, t: _burial(p, t, "proactive", pensioner=True)),
        ("burial.portal", "portal", "automatic", "paid", lambda p, t: _burial(p, t, "portal", pensioner=True)),
        ("burial.proactive.not_recipient", "proactive", "automatic", "refused", lambda p, t: _burial(p, t, "proactive", pensioner=False)),
        ("burial.state_corp", "state_corp", "specialist", "paid", lambda p, t: _burial(p, t, "state_corp", pensioner=True)),
        ("burial.proactive", "proactive", "automatic", "paid", lambda p, t: _burial(p, t, "proactive", pensioner=True)),
        ("burial.portal.not_recipient", "portal", "automatic", "rejected", lambda p, t: _burial(p, t, "portal", pensioner=False)),
        ("burial.portal", "portal", "automatic", "paid", lambda p, t: _burial(p, t, "portal", pensioner=True)),
    ],
    "disability": [
        ("disability.portal", "portal", "automatic", "paid", lambda p, t: _disability(p, t, "portal", cause="general_illness")),
        ("disability.provider", "provider", "specialist", "paid", lambda p, t: _disability(p, t, "provider", cause="general_illness")),
        ("disability.proactive", "proactive", "automatic", "paid", lambda p, t: _disability(p, t, "proactive", cause="general_illness")),
        ("disability.state_corp", "state_corp", "specialist", "paid", lambda p, t: _disability(p, t, "state_corp", cause="general_illness")),
        ("disability.portal", "portal", "automatic", "paid", lambda p, t: _disability(p, t, "portal", cause="general_illness")),
        ("disability.portal.childhood", "portal", "specialist", "paid", lambda p, t: _disability(p, t, "portal", cause="childhood")),
        ("disability.proactive", "proactive", "automatic", "paid", lambda p, t: _disability(p, t, "proactive", cause="general_illness")),
        ("disability.portal.no_record", "portal", "automatic", "refused", lambda p, t: _disability(p, t, "portal", cause=None)),
        ("disability.portal", "portal", "automatic", "paid", lambda p, t: _disability(p, t, "portal", cause="general_illness")),
        ("disability.state_corp", "state_corp", "specialist", "paid", lambda p, t: _disability(p, t, "state_corp", cause="general_illness")),
    ],
    "survivor": [
        ("survivor.portal", "portal", "specialist", "paid", lambda p, t: _survivor(p, t, "portal", children=2, student=False)),
        ("survivor.state_corp.student", "state_corp", "specialist", "paid", lambda p, t: _survivor(p, t, "state_corp", children=1, student=True)),
        ("survivor.proactive", "proactive", "specialist", "paid", lambda p, t: _survivor(p, t, "proactive", children=1, student=False)),
        ("survivor.portal", "portal", "specialist", "paid", lambda p, t: _survivor(p, t, "portal", children=3, student=False)),
        ("survivor.state_corp", "state_corp", "specialist", "paid", lambda p, t: _survivor(p, t, "state_corp", children=2, student=False)),
        ("survivor.portal.student", "portal", "specialist", "paid", lambda p, t: _survivor(p, t, "portal", children=1, student=True)),
        ("survivor.proactive", "proactive", "specialist", "paid", lambda p, t: _survivor(p, t, "proactive", children=2, student=False)),
        ("survivor.portal", "portal", "specialist", "paid", lambda p, t: _survivor(p, t, "portal", children=1, student=False)),
        ("survivor.state_corp", "state_corp", "specialist", "paid", lambda p, t: _survivor(p, t, "state_corp", children=1, student=False)),
        ("survivor.portal", "portal", "specialist", "paid", lambda p, t: _survivor(p, t, "portal", children=2, student=False)),
    ],
}


def parse_mix(text: str) -> dict[str, float]:
    """``burial=1,disability=1,survivor=1`` → weights (unknown benefits refused, zero weights dropped)."""
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in BENEFITS:
            raise ValueError(f"unknown benefit {name!r} in --mix (known: {', '.join(BENEFITS)})")
        weight = float(value) if value else 1.0
        if weight < 0:
            raise ValueError("--mix weights must not be negative")
        if weight > 0:
            weights[name] = weight
    if not weights:
        raise ValueError("--mix names no benefit with a positive weight")
    return weights


def benefit_order(n: int, weights: dict[str, float]) -> list[str]:
    """Smooth weighted round robin: equal weights give burial, disability, survivor, burial, ..."""
    total = sum(weights.values())
    current = {b: 0.0 for b in weights}
    order = []
    for _ in range(n):
        for b in weights:
            current[b] += weights[b]
        best = max(weights, key=lambda b: (current[b], -BENEFITS.index(b)))
        current[best] -= total
        order.append(best)
    return order


def build_cases(n: int, *, seed: int, weights: dict[str, float] | None = None, today: date | None = None,
                operators: int = 8, specialists: int = 8) -> list[Case]:
    """``n`` cases in submission order, with their fixtures; the same seed gives the same cases."""
    rng = random.Random(seed)
    people = People(rng)
    today = today or date.today()
    dealt = {b: 0 for b in BENEFITS}
    cases = []
    for i, benefit in enumerate(benefit_order(n, weights or {b: 1.0 for b in BENEFITS})):
        deck = DECKS[benefit]
        name, channel, path, expected, build = deck[dealt[benefit] % len(deck)]
        dealt[benefit] += 1
        body, fixtures = build(people, today)
        role = ROLE_OF_CHANNEL[channel]
        if role == "citizen":
            sub = body["applicant"]["iin"]
        elif role == "mobile":
            sub = "mobile-backend"
        elif role == "operator":
            sub = f"bench-operator-{i % operators + 1}"
        else:
            sub = f"bench-specialist-{i % specialists + 1}"
        cases.append(Case(i, name, benefit, channel, path, expected, body, fixtures, role, sub))
    return cases


def fixtures_of(cases: list[Case]) -> dict[str, list[dict[str, Any]]]:
    return _merge(*(c.fixtures for c in cases))
