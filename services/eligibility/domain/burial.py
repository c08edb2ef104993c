"""Burial payment eligibility policy: registries asked, facts gathered, the B§13 checks (Order 256 as amended)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date

from common.events import ApplicationData
from common.law.params import int_on
from services.eligibility.domain.kinship import BURIAL_KINSHIP, relation
from services.eligibility.domain.model import (
    AUTOMATED_CHANNELS,
    Evaluation,
    Explanation,
    Record,
    Registries,
    account_owned,
    applicant_accounts,
    documents_of,
    explain_payee,
    iso,
    parse_day,
    payee_iban,
)
from services.eligibility.domain.rules import (
    BurialFacts,
    RecipientPeriod,
    check_complete,
    check_deadline,
    check_recipient,
    check_reliable,
    evaluate_burial,
    recipient_kind_on,
)


@dataclass(frozen=True)
class BurialCase:
    facts: BurialFacts
    channel: str
    deceased_iin: str
    payee_iban: str | None
    certificate_date: date | None  # the date of death read off a death certificate at the desk
    iban_from_application: bool = True
    payee_owned: bool | None = None  # the banks' registry lists the account as the applicant's (None: not asked)
    kinship: str | None = None  # how the applicant is related to the deceased in the civil registry


async def _kinship_records(registries: Registries, application: ApplicationData) -> list[list[Record]]:
    """BURIAL_KINSHIP: on the automatic path, both persons' births, the applicant's adoptions and marriages."""
    applicant, deceased = application.applicant.iin, application.deceased_iin
    if application.channel not in AUTOMATED_CHANNELS or not applicant or not deceased:
        return [[], [], [], []]
    return list(await asyncio.gather(
        registries.births(applicant), registries.births(deceased),
        registries.adoptions(applicant), registries.marriages(applicant),
    ))


async def gather(registries: Registries, application: ApplicationData) -> BurialCase:
    """B§13: the deceased's identity, death record and payments; the applicant's account or entity.

    The system asks the registries through the gateway on every channel, the portal applicant included.
    [law: B13.portal-applicant-queries-registries, B-Std8.provider-gets-data-via-gateway]
    """
    deceased = application.deceased_iin or ""
    applicant = application.applicant
    person = await registries.person(deceased)  # first and alone: an outage shows before anything else is asked
    death, periods, accounts, kin = await asyncio.gather(
        registries.death(deceased), registries.recipient_periods(deceased), applicant_accounts(registries, application),
        _kinship_records(registries, application),
    )
    entity_known = True
    if applicant.bin:  # law: B-Std8.doc.legal-entity-registration
        entity_known = await registries.legal_entity(applicant.bin) is not None
    certificates = documents_of(application, ["death_certificate"])
    certificate_date = next((d for d in (parse_day(c.facts.get("date")) for c in certificates) if d), None)
    registry_date = parse_day((death or {}).get("date"))
    # B-Std p.8: at the desk a person decides, and a certificate (a foreign one apostilled) proves a death the
    # civil registry does not hold; the automated path (portal, proactive) relies on the registry alone.
    desk = application.channel not in AUTOMATED_CHANNELS
    from_document = registry_date is None and desk and certificate_date is not None
    iban = payee_iban(application, accounts)
    facts = BurialFacts(
        received_on=application.received_on,
        death_date=registry_date or (certificate_date if from_document else None),
        death_certificate_given=bool(certificates),
        deceased_known=person is not None or from_document,
        recipient_periods=tuple(
            RecipientPeriod(str(p.get("kind")), start, parse_day(p.get("to")))
            for p in periods
            if (start := parse_day(p.get("from"))) is not None
        ),
        payment_account_known=bool(iban),
        applicant_entity_known=entity_known,
        death_from_document=from_document,
    )
    applicant_births, deceased_births, adoptions, marriages = kin
    kinship = relation(applicant.iin, deceased, births=applicant_births + deceased_births, adoptions=adoptions,
                       marriages=marriages, on=facts.death_date) if applicant.iin else None
    return BurialCase(facts, application.channel, deceased, iban, certificate_date,
                      iban_from_application=bool(application.iban), payee_owned=account_owned(application, accounts),
                      kinship=kinship)


def evaluate(case: BurialCase) -> Evaluation:
    """B§13 checks 1, 4, 5 and B-Std p.9 ground 1, every one explained; documents asked for at the desk.

    The same checks decide every channel; off the portal a failed check is a signed refusal. [law: B13.checks-on-every-channel]
    """
    facts = case.facts
    out = Explanation()
    within = int_on("burial.apply_within_years", facts.received_on)
    out.rule("complete", "B§13 check 1", check_complete(facts) is None, obligations=("B13.check1.completeness",),
             death_date=iso(facts.death_date),
             death_certificate_given=facts.death_certificate_given, payment_account_known=facts.payment_account_known)
    out.rule("registries_confirm", "B-Std p.9 ground 1", check_reliable(facts) is None,
             obligations=("B-Std9.ground1.unreliable", "B-Std8.doc.legal-entity-registration"),
             deceased_known=facts.deceased_known, applicant_entity_known=facts.applicant_entity_known,
             death_source="document" if facts.death_from_document else ("registry" if facts.death_date else None))
    kind = recipient_kind_on(facts, facts.death_date) if facts.death_date else None
    out.rule("recipient_on_date_of_death", "B§13 check 4", check_recipient(facts) is None,
             obligations=("B13.check4.recipient-on-date-of-death", "B-Std9.ground2.requirements-not-met"),
             recipient_kind=kind,
             counted_kinds=["age_pension", "basic_pension", "social_benefit", "special_benefit"])
    out.rule("applied_within_years", "B§13 check 5", check_deadline(facts, within) is None,
             obligations=("B13.check5.within-3-years", "B-Std9.ground2.requirements-not-met"),
             received_on=iso(facts.received_on), date_of_death=iso(facts.death_date), within_years=within)
    codes = evaluate_burial(facts, within_years=within)
    automated = case.channel in AUTOMATED_CHANNELS
    if not automated and facts.death_date is None and not facts.death_certificate_given:
        # B-Std p.8: a person decides at the desk; the registry holds no death, so the certificate is asked for.
        # law: B-Std8.doc.death-certificate-or-foreign, B-Std8.no-documents-when-registries-confirm
        out.request("death_certificate", case.deceased_iin, "the civil registry holds no death record", "B-Std p.8")
        # Project decision: what the certificate can prove (the death; the person, for a death abroad) is not
        # refused before it arrives; a missing account still is (check 1), so the citizen learns it at once.
        if facts.applicant_entity_known:
            codes = [c for c in codes if c != "data_unreliable"]
        if facts.payment_account_known:
            codes = [c for c in codes if c != "incomplete"]
    for code in codes:
        out.refuse(code)
    eligible = not codes and not out.requested
    if automated and eligible:
        # B§19-1 lets the system assign on the portal and proactive; the project's payee safety narrows whom it pays.
        owned = explain_payee(out, owned=case.payee_owned, from_application=case.iban_from_application,
                              obligations=("B19-1.payee-safety",))
        related = out.rule("applicant_related", BURIAL_KINSHIP, case.kinship is not None,
                           obligations=("B19-1.payee-safety",), kinship=case.kinship)
        automated = owned and related
    return Evaluation(
        eligible=eligible,
        automated=automated,
        reasons=tuple(out.reasons),
        requested_documents=tuple(out.requested),
        facts={
            "date_of_death": iso(facts.death_date),
            "death_source": "document" if facts.death_from_document else ("registry" if facts.death_date else None),
            "received_on": facts.received_on.isoformat(),
            "recipient_kind": kind,
            "payee_iban": case.payee_iban,
            "payee_account_owned": case.payee_owned,
            "applicant_kinship": case.kinship,
        },
        explanation=tuple(out.lines),
    )
