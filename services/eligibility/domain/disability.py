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
    account_owned,
    applicant_accounts,
    documents_about,
    explain_payee,
    in_force,
    iso,
    parse_day,
    payee_iban,
)

# D§20-1, D§21-1: only disability from general illness or a work injury takes the automated path;
# occupational disease is not named and does not widen it. law: D21-1.auto-only-general-illness-work-injury
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
    payee_owned: bool | None = None  # the banks' registry lists the account as the applicant's (None: not asked)


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
    """D§7: the registries the specialist (desk) or the system (portal, proactive) asks through the gateway.

    [law: D7.queries-by-system, D7.query.persons, D7.query.disability-db, D-Std8.doc.identity]
    """
    iin = application.applicant.iin or ""
    person = await registries.person(iin)  # first and alone: an outage shows before anything else is asked
    (death, disabilities, accounts), _evidence = await asyncio.gather(
        asyncio.gather(
            registries.death(iin),
            registries.disabilities(iin),
            applicant_accounts(registries, application),
        ),
        # D§7: asked and kept as evidence (marriage: surname change; guardianship; adoption; a child's birth).
        # law: D7.query.civil.births, D7.query.civil.marriages, D7.query.education.guardianship, D7.query.courts.adoption
        asyncio.gather(
            registries.births(iin), registries.marriages(iin), registries.guardianships(iin), registries.adoptions(iin)
        ),
    )
    records = [r for r in (_record(raw, "registry") for raw in disabilities) if r]
    return DisabilityCase(
        application=application,
        person_known=person is not None,
        birth_date=parse_day((person or {}).get("birth_date")),
        deceased=death is not None,
        records=tuple(sorted(records, key=lambda r: r.established_on)) + certificates(application),
        payee_iban=payee_iban(application, accounts),
        payee_owned=account_owned(application, accounts),
    )


def certificates(application: ApplicationData) -> tuple[DisabilityRecord, ...]:
    """D§7, D-Std p.8: the disability certificates attached about the applicant, read as establishment records.

    [law: D-Std8.doc.disability-certificate, D7.documents-when-registry-lacks]

    Project decision: a certificate counts only with its cause and its establishment date (the amount depends on the
    cause, the period on the date); the group may be absent (a child's disability has none).
    """
    found = [
        record
        for doc in documents_about(application, ["disability_certificate"], application.applicant.iin or "")
        if doc.facts.get("cause") and (record := _record(doc.facts, "document")) is not None
    ]
    return tuple(sorted(found, key=lambda r: r.established_on))


def record_in_force(records: tuple[DisabilityRecord, ...], on: date) -> DisabilityRecord | None:
    """D§4: the latest establishment in force on ``on``: the registry's record, else a certificate's."""
    for source in ("registry", "document"):
        in_time = [r for r in records if r.source == source and in_force(r.established_on, r.until, on)]
        if in_time:
            return max(in_time, key=lambda r: r.established_on)
    return None


def first_establishment(records: tuple[DisabilityRecord, ...], current: DisabilityRecord) -> bool:
    """D-Std p.2: disability established for the first time: no record was established before the one in force.

    [law: D-Std2.provider-first-establishment]
    """
    return all(r.established_on >= current.established_on for r in records)


def evaluate(case: DisabilityCase) -> Evaluation:
    """D§4, D§7, D§20-1, D§21-1, D-Std p.2 and p.9: the applicant, the record in force, the path, the account.

    No rule here looks at how long after the establishment the application comes. [law: D4.apply-any-time]
    """
    app = case.application
    on = app.received_on
    out = Explanation()
    if not out.rule("applicant_known", "D-Std p.9 ground 1", case.person_known,
                    obligations=("D-Std9.ground1.unreliable", "D-Std8.doc.identity")):
        out.refuse("data_unreliable")
    if not out.rule("applicant_alive", "D-Std p.9 ground 1", not case.deceased, obligations=("D-Std9.ground1.unreliable",)):
        out.refuse("applicant_deceased")
    current = record_in_force(case.records, on)
    first_time = current is not None and first_establishment(case.records, current)
    # D§20-1: on the portal and the proactive service the system also refuses by itself when the record is missing.
    automated = app.channel in AUTOMATED_CHANNELS and (current is None or current.cause in AUTOMATED_CAUSES)
    out.rule("disability_in_force", "D§4", current is not None,
             obligations=("D4.apply-any-time", "D7.query.disability-db", "D-Std9.ground2.requirements-not-met"),
             received_on=on.isoformat(),
             established_on=iso(current.established_on) if current else None,
             until=iso(current.until) if current else None, source=current.source if current else None)
    if current is None:
        if app.channel in AUTOMATED_CHANNELS:
            # D§20-1: the automated path refuses when the data is missing.
            # law: D21-1.auto-refusal-missing-data, D20-1.failed-check-auto-refusal
            out.refuse("no_disability")
        elif documents_about(app, ["disability_certificate"], app.applicant.iin or ""):
            # Project decision: the certificate came and shows no disability in force on the application date
            # (or lacks its cause and date): the specialist refuses instead of asking for it again.
            out.refuse("no_disability")
        elif case.person_known and not case.deceased:
            # Project decision: the certificate is asked for only when it can make the case eligible: for an
            # applicant the persons registry does not know, or the civil registry holds as dead, the refusal
            # (data_unreliable, applicant_deceased) stands at once instead of a wait for documents.
            # law: D7.documents-when-registry-lacks, D-Std8.no-documents-when-registries-hold
            out.request("disability_certificate", app.applicant.iin, "the central disability database holds no "
                        "record in force on the application date", "D§7, D-Std p.8")
    else:
        out.value("cause_and_group", "D§20-1, D§21-1", obligations=("D21-1.auto-only-general-illness-work-injury",),
                  cause=current.cause, group=current.group,
                  automated_causes=sorted(AUTOMATED_CAUSES))
    if app.channel == "provider" and current is not None:
        if not out.rule("provider_first_establishment", "D-Std p.2", first_time,
                        obligations=("D-Std2.provider-first-establishment", "D-Std9.ground2.requirements-not-met")):
            out.refuse("provider_not_first_time")
    out.value("path", "D§20-1, D§21-1", obligations=("D21-1.auto-only-general-illness-work-injury",),
              channel=app.channel, automated=automated)
    if automated and not out.requested:
        if not out.rule("payable_account", "D-Std p.8", case.payee_iban is not None,
                        obligations=("D-Std9.ground2.requirements-not-met",)):
            out.refuse("no_payable_account")
    eligible = not out.reasons and not out.requested
    if automated and eligible:
        # D§20-1 lets the system assign; the project's payee safety narrows which account it pays by itself.
        automated = explain_payee(out, owned=case.payee_owned, from_application=bool(app.iban),
                                  obligations=("D21-1.payee-safety",))
    return Evaluation(
        eligible=eligible,
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
            "payee_account_owned": case.payee_owned,
            "also_apply_for": list(app.also_apply_for),
        },
        explanation=tuple(out.lines),
    )
