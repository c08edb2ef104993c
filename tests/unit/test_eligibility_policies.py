"""The eligibility seam: one policy per benefit, gathering through the registry port, the burial channels.

The registries are a plain in-memory fake of the ``Registries`` protocol, so gathering and evaluation run
without the gateway; what each benefit asks is checked by the calls the fake records.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, timezone
from typing import Any

import pytest

from common.events import ApplicationData
from common.identifiers import make_iin
from services.eligibility.domain.model import Record
from services.eligibility.domain.policies import POLICIES, policy_for

APPLIED = date(2026, 11, 16)
DIED = "2026-10-01"
DECEASED = make_iin(date(1941, 7, 7), "M", 901)
APPLICANT = make_iin(date(1980, 2, 2), "F", 902)
IBAN = "KZ86125KZT5004100100"


class FakeRegistries:
    """The registries as dicts of records; every call is logged, and the widest concurrency is measured."""

    def __init__(self, **records: list[Record]) -> None:
        self.records = records
        self.calls: list[tuple[str, str]] = []
        self.running = 0
        self.widest = 0

    async def _ask(self, name: str, iin: str) -> list[Record]:
        self.calls.append((name, iin))
        self.running += 1
        self.widest = max(self.widest, self.running)
        await asyncio.sleep(0)
        self.running -= 1
        keys = ("iin", "child_iin", "mother_iin", "father_iin", "parent_iin", "iin_a", "iin_b", "guardian_iin")
        return [r for r in self.records.get(name, []) if iin in (r.get(k) for k in keys)]

    async def _one(self, name: str, iin: str) -> Record | None:
        found = await self._ask(name, iin)
        return found[0] if found else None

    async def person(self, iin: str) -> Record | None:
        return await self._one("persons", iin)

    async def death(self, iin: str) -> Record | None:
        return await self._one("deaths", iin)

    async def recipient_periods(self, iin: str) -> list[Record]:
        return await self._ask("recipients", iin)

    async def bank_accounts(self, iin: str) -> list[Record]:
        return await self._ask("bank_accounts", iin)

    async def legal_entity(self, bin_: str) -> Record | None:
        return await self._one("legal_entities", bin_)

    async def disabilities(self, iin: str) -> list[Record]:
        return await self._ask("disabilities", iin)

    async def births(self, iin: str) -> list[Record]:
        return await self._ask("births", iin)

    async def marriages(self, iin: str) -> list[Record]:
        return await self._ask("marriages", iin)

    async def adoptions(self, iin: str) -> list[Record]:
        return await self._ask("adoptions", iin)

    async def guardianships(self, iin: str) -> list[Record]:
        return await self._ask("guardianships", iin)

    async def studies(self, iin: str) -> list[Record]:
        return await self._ask("studies", iin)

    async def court_declarations(self, iin: str) -> list[Record]:
        return await self._ask("court_declarations", iin)


def application(benefit: str = "burial", channel: str = "state_corp", **changes: Any) -> ApplicationData:
    data: dict[str, Any] = {
        "application_id": uuid.uuid4(), "benefit": benefit, "channel": channel, "status": "registered",
        "received_at": datetime(2026, 11, 16, 5, tzinfo=timezone.utc), "received_on": APPLIED,
        "applicant": {"iin": APPLICANT}, "iban": IBAN,
        "deceased_iin": DECEASED if benefit != "disability" else None,
    }
    return ApplicationData.model_validate(data | changes)


def check(registries: FakeRegistries, app: ApplicationData) -> Any:
    return asyncio.run(policy_for(app.benefit).check(registries, app))


def deceased(*, death: bool = True, person: bool = True, kind: str = "age_pension") -> FakeRegistries:
    """A deceased pension recipient, and the applicant as their spouse paid to their own account (payee safety)."""
    return FakeRegistries(
        persons=[{"iin": DECEASED, "birth_date": "1941-07-07"}] if person else [],
        deaths=[{"iin": DECEASED, "date": DIED}] if death else [],
        recipients=[{"iin": DECEASED, "kind": kind, "from": "2005-05-05", "to": None}],
        marriages=[{"iin_a": DECEASED, "iin_b": APPLICANT, "date": "1980-01-01", "dissolved_on": None}],
        bank_accounts=[{"iin": APPLICANT, "iban": IBAN}],
    )


CERTIFICATE = {"type": "death_certificate", "foreign": True, "apostille": True, "about": DECEASED,
               "facts": {"date": DIED}}


def test_one_policy_per_benefit() -> None:
    """docs/benefits.md: the seam is a registry keyed by the benefit's name; an unknown one is named."""
    assert set(POLICIES) == {"burial", "disability", "survivor"}
    with pytest.raises(KeyError, match="pension"):
        policy_for("pension")


@pytest.mark.law("B-Std8.doc.death-certificate-or-foreign", "B-Std8.no-documents-when-registries-confirm")
@pytest.mark.parametrize(
    ("channel", "death", "documents", "eligible", "reasons", "requested", "source"),
    [
        # B§19-1: the automated path relies on the civil registry alone
        ("portal", True, (), True, [], [], "registry"),
        ("portal", False, (), False, ["incomplete"], [], None),
        ("proactive", False, (CERTIFICATE,), False, ["data_unreliable"], [], None),
        # B-Std p.8: at the desk a person decides; no record and no certificate → the certificate is asked for
        ("state_corp", False, (), False, [], [("death_certificate", DECEASED)], None),
        ("state_corp", False, (CERTIFICATE,), True, [], [], "document"),
        # the registry's record wins over a certificate
        ("state_corp", True, (CERTIFICATE | {"facts": {"date": "2026-09-30"}},), True, [], [], "registry"),
    ],
)
def test_burial_death_from_the_registry_or_at_the_desk_from_a_certificate(
    channel: str, death: bool, documents: tuple[dict[str, Any], ...], eligible: bool, reasons: list[str],
    requested: list[tuple[str, str]], source: str | None,
) -> None:
    """B§13 check 1, B-Std p.8, p.9 ground 1, B§19-1: where the date of death comes from, per channel."""
    result = check(deceased(death=death), application(channel=channel, documents=list(documents)))
    assert result.eligible is eligible
    assert [r["code"] for r in result.reasons] == reasons
    assert [(d["type"], d["about"]) for d in result.requested_documents] == requested
    assert result.facts["death_source"] == source
    assert result.automated is (channel in ("portal", "proactive"))
    if source:
        assert result.facts["date_of_death"] == DIED


@pytest.mark.law("B-Std8.doc.death-certificate-or-foreign")
def test_burial_at_the_desk_a_death_abroad_of_a_person_the_registry_does_not_know() -> None:
    """B-Std p.8: only the certificate is asked for first; with it the death is proven by the document."""
    registries = deceased(death=False, person=False)
    waiting = check(registries, application())
    assert (waiting.eligible, waiting.reasons) == (False, ())
    assert [d["type"] for d in waiting.requested_documents] == ["death_certificate"]
    proven = check(registries, application(documents=[CERTIFICATE]))
    assert proven.eligible is True and proven.facts["death_source"] == "document"


def test_burial_at_the_desk_a_missing_account_is_said_at_once_beside_the_request() -> None:
    """B§13 check 1: the account is missing whatever the certificate says."""
    registries = deceased(death=False)
    registries.records["bank_accounts"] = []
    result = check(registries, application(iban=None))
    assert [r["code"] for r in result.reasons] == ["incomplete"]
    assert [d["type"] for d in result.requested_documents] == ["death_certificate"]


@pytest.mark.law("B13.check4.recipient-on-date-of-death", "B13.checks-on-every-channel")
def test_burial_at_the_desk_another_kind_of_payment_is_not_a_recipient() -> None:
    """B§13 check 4: a payment of another kind does not make the deceased a recipient, with the certificate too."""
    result = check(deceased(death=False, kind="housing_assistance"), application(documents=[CERTIFICATE]))
    assert [r["code"] for r in result.reasons] == ["not_a_recipient"]
    assert result.facts["recipient_kind"] is None


@pytest.mark.law(
    "D7.query.persons", "D7.query.civil.births", "D7.query.civil.marriages", "D7.query.education.guardianship",
    "D7.query.courts.adoption", "D7.query.disability-db", "D7.queries-by-system",
)
def test_disability_asks_the_d7_registries_concurrently() -> None:
    """D§7: persons, deaths, the disability database, banks; births, marriages, guardianship, adoption as evidence."""
    registries = FakeRegistries(
        persons=[{"iin": APPLICANT, "birth_date": "1980-02-02"}],
        disabilities=[{"iin": APPLICANT, "group": 2, "cause": "general_illness", "established_on": "2026-10-01"}],
        bank_accounts=[{"iin": APPLICANT, "iban": IBAN}],
    )
    result = check(registries, application("disability", "portal", iban=None))
    assert result.eligible is True and result.automated is True and result.facts["payee_iban"] == IBAN
    asked = {name for name, _ in registries.calls}
    assert asked == {"persons", "deaths", "disabilities", "bank_accounts", "births", "marriages", "guardianships",
                     "adoptions"}
    assert registries.widest > 1


@pytest.mark.law(
    "S6.query.persons", "S6.query.civil.births", "S6.query.civil.child-deaths", "S6.query.courts.adoption",
    "S6.query.education", "S6.query.higher-education", "S6.queries-by-system", "S6.query.civil.marriages",
)
def test_survivor_asks_for_each_dependant_and_the_deceased() -> None:
    """S§6: the deceased's death and declarations, and per dependant persons, births, adoptions, deaths,
    disabilities, studies, guardianships."""
    child = make_iin(date(2015, 3, 3), "M", 903)
    registries = FakeRegistries(
        deaths=[{"iin": DECEASED, "date": DIED}],
        persons=[{"iin": child, "birth_date": "2015-03-03"}],
        births=[{"child_iin": child, "mother_iin": APPLICANT, "father_iin": DECEASED, "date": "2015-03-03"}],
    )
    result = check(registries, application("survivor", dependants=[child]))
    assert result.eligible is True and result.automated is False
    assert result.facts["eligible_dependants"] == [child]
    assert result.facts["dependants"][0] | {"birth_date": None} == {
        "iin": child, "eligible": True, "basis": "minor", "kinship": "child", "birth_date": None, "reason_code": None,
    }
    per_child = {name for name, iin in registries.calls if iin == child}
    assert per_child == {"persons", "births", "adoptions", "deaths", "disabilities", "studies", "guardianships"}
    about_deceased = {name for name, iin in registries.calls if iin == DECEASED}
    assert {"deaths", "court_declarations", "births", "persons"} <= about_deceased
    assert ("marriages", APPLICANT) in registries.calls  # kept as evidence (a spouse caring for the children)
    assert registries.widest > 1
