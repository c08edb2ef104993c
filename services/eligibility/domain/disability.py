"""State disability benefit eligibility policy (Disability Rules of Order 257 as amended by Order 509).

Registries per D§7: persons (identity, address), the central disability database (the establishment record),
civil registry (births, marriages), education database (guardianship), courts (adoption), banks.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date

from common.events import ApplicationData
from services.eligibility.domain.model import (
    AUTOMATED_CHANNELS,
    Evaluation,
    Explanation,
    Record,
    Registries,
    documents_of,
    in_force,
    iso,
    parse_day,
    payee_iban,
)

# D§20-1, D§21-1: only disability from general illness or a work injury takes the automated path;
# occupational disease is not named and does not widen it.
AUTOMATED_CAUSES = frozenset({"general_illness", "work_injury"})


@dataclass(frozen=True)
class DisabilityRecord:
    group: int | None
    cause: str | None
    established_on: date
    until: date | None
    source: str  # registry | document


@dataclass(frozen=True)
class DisabilityCase:
    application: ApplicationData
    person_known: bool
    birth_date: date | None
    deceased: bool
    records: tuple[DisabilityRecord, ...]
    payee_iban: str | None


def _record(raw: Record, source: str) -> DisabilityRecord | None:
    established = parse_day(raw.get("established_on"))
    if established is None:
        return None
    group = raw.get("group")
    return DisabilityRecord(
        group=int(group) if group in (1, 2, 3, "1", "2", "3") else None,
        cause=str(raw["cause"]) if raw.get("cause") else None,
        established_on=established,
        until=parse_day(raw.get("until")),
        source=source,
    )


async def gather(registries: Registries, application: ApplicationData) -> DisabilityCase:
    """D§7: the registries the specialist (desk) or the system (portal, proactive) asks through the gateway."""
    iin = application.applicant.iin or ""
    person = await registries.person(iin)  # first and alone: an outage shows before anything else is asked
    death = await registries.death(iin)
    disabilities, accounts, *_evidence = await asyncio.gather(
        registries.disabilities(iin),
        registries.bank_accounts(iin) if not application.iban else _none(),
        registries.births(iin),
        registries.marriages(iin),
        registries.guardianships(iin),
        registries.adoptions(iin),
    )
    records = [r for r in (_record(raw, "registry") for raw in disabilities) if r]
    # D§7: where the registry holds no record, the certificate the applicant brought stands in for it.
    for doc in documents_of(application, ["disability_certificate"]):
        from_doc = _record(doc.facts, "document")
        if from_doc:
            records.append(from_doc)
    return DisabilityCase(
        application=application,
        person_known=person is not None,
        birth_date=parse_day((person or {}).get("birth_date")),
        deceased=death is not None,
        records=tuple(sorted(records, key=lambda r: r.established_on)),
        payee_iban=payee_iban(application, accounts),
    )


async def _none() -> list[Record]:
    return []


def evaluate(case: DisabilityCase) -> Evaluation:
    """D§4, D§7, D§20-1, D§21-1, D-Std p.2 and p.9: the applicant, the record in force, the path, the account."""
    app = case.application
    on = app.received_on
    out = Explanation()
    if not out.rule("applicant_known", "D-Std p.9 ground 1", case.person_known):
        out.refuse("data_unreliable")
    if not out.rule("applicant_alive", "D-Std p.9 ground 1", not case.deceased):
        out.refuse("applicant_deceased")
    current = next((r for r in reversed(case.records) if in_force(r.established_on, r.until, on)), None)
    first_time = current is not None and all(r.established_on >= current.established_on for r in case.records)
    # D§20-1: on the portal and the proactive service the system also refuses by itself when the record is missing.
    automated = app.channel in AUTOMATED_CHANNELS and (current is None or current.cause in AUTOMATED_CAUSES)
    out.rule("disability_in_force", "D§4", current is not None, received_on=on.isoformat(),
             established_on=iso(current.established_on) if current else None,
             until=iso(current.until) if current else None, source=current.source if current else None)
    if current is None:
        if app.channel in AUTOMATED_CHANNELS:
            out.refuse("no_disability")  # D§20-1: the automated path refuses when the data is missing
        else:
            out.request("disability_certificate", app.applicant.iin, "the central disability database holds no "
                        "record in force on the application date", "D§7, D-Std p.8")
    else:
        out.value("cause_and_group", "D§20-1, D§21-1", cause=current.cause, group=current.group,
                  automated_causes=sorted(AUTOMATED_CAUSES))
    if app.channel == "provider" and current is not None:
        if not out.rule("provider_first_establishment", "D-Std p.2", first_time):
            out.refuse("provider_not_first_time")
    out.value("path", "D§20-1, D§21-1", channel=app.channel, automated=automated)
    if automated and not out.requested:
        if not out.rule("payable_account", "D-Std p.8", case.payee_iban is not None):
            out.refuse("no_payable_account")
    return Evaluation(
        eligible=not out.reasons and not out.requested,
        automated=automated,
        reasons=tuple(out.reasons),
        requested_documents=tuple(out.requested),
        facts={
            "received_on": on.isoformat(),
            "applicant_iin": app.applicant.iin,
            "applicant_birth_date": iso(case.birth_date),
            "cause": current.cause if current else None,
            "group": current.group if current else None,
            "established_on": iso(current.established_on) if current else None,
            "until": iso(current.until) if current else None,
            "disability_source": current.source if current else None,
            "first_time": first_time,
            "payee_iban": case.payee_iban,
            "also_apply_for": list(app.also_apply_for),
        },
        explanation=tuple(out.lines),
    )
