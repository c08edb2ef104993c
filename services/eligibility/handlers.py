"""Eligibility: record a check job per application; a worker asks the registries and decides."""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, timezone

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.envelope import Envelope, make_event
from common.http import ExternalUnavailable
from common.jobs import claim_due, reschedule
from common.law.params import value_on
from common.outbox import add_event
from common.reasons import reason
from services.eligibility.adapters.egov import EgovRegistries
from services.eligibility.adapters.orm import Check, messaging
from services.eligibility.domain.rules import (
    BurialFacts,
    RecipientPeriod,
    evaluate_burial,
)

log = logging.getLogger(__name__)
SOURCE = "eligibility"
TOPIC = "eligibility"


async def on_application_received(session: AsyncSession, event: Envelope) -> None:
    """Only record the job: the registries are asked by the worker, so an outage never blocks the partition."""
    await session.execute(
        pg_insert(Check)
        .values(application_id=uuid.UUID(event.subject), benefit=event.data["benefit"], application=event.data)
        .on_conflict_do_nothing()
    )


async def gather_burial_facts(registries: EgovRegistries, application: dict) -> tuple[BurialFacts, dict]:
    """Ask every registry the B§13 checks need; returns the facts and what the decision needs to pay."""
    deceased = application["deceased_iin"]
    applicant = application["applicant"]
    person = await registries.person(deceased)
    death = await registries.death(deceased)
    periods = await registries.recipient_periods(deceased)
    iban = application.get("iban")
    if not iban and applicant.get("iin"):
        accounts = await registries.bank_accounts(applicant["iin"])
        iban = accounts[0]["iban"] if accounts else None
    entity_known = True
    if applicant.get("bin"):
        entity_known = await registries.legal_entity(applicant["bin"]) is not None
    facts = BurialFacts(
        received_on=date.fromisoformat(application["received_on"]),
        death_date=date.fromisoformat(death["date"]) if death else None,
        death_certificate_given=any(d.get("type") == "death_certificate" for d in application.get("documents", [])),
        deceased_known=person is not None,
        recipient_periods=tuple(
            RecipientPeriod(
                kind=p["kind"],
                start=date.fromisoformat(p["from"]),
                end=date.fromisoformat(p["to"]) if p.get("to") else None,
            )
            for p in periods
        ),
        payment_account_known=bool(iban),
        applicant_entity_known=entity_known,
    )
    recipient_kind = next(
        (p.kind for p in facts.recipient_periods if facts.death_date and p.start <= facts.death_date and (p.end is None or facts.death_date <= p.end)),
        None,
    )
    return facts, {"payee_iban": iban, "recipient_kind": recipient_kind}


def _result(application: dict, facts: BurialFacts, extra: dict, evidence: list[dict]) -> dict:
    within = int(value_on("burial.apply_within_years", facts.received_on).value)
    codes = evaluate_burial(facts, within_years=within)
    return {
        "application_id": application["application_id"],
        "benefit": application["benefit"],
        "channel": application["channel"],
        "eligible": not codes,
        "reasons": [reason(code) for code in codes],
        "facts": {
            "date_of_death": facts.death_date.isoformat() if facts.death_date else None,
            "received_on": facts.received_on.isoformat(),
            "recipient_kind": extra["recipient_kind"],
            "payee_iban": extra["payee_iban"],
        },
        "evidence": evidence,
        "checked_at": datetime.now(timezone.utc).isoformat(),
    }


async def run_one_check(sessions: async_sessionmaker, registries: EgovRegistries) -> int:
    """Claim one due check, ask the registries, emit the result; 0 when nothing was due."""
    async with sessions() as session, session.begin():
        check = await claim_due(session, Check)
        if check is None:
            return 0
        asked = registries.session()
        try:
            facts, extra = await gather_burial_facts(asked, check.application)
        except ExternalUnavailable as exc:
            reschedule(check, str(exc), cap_s=60)
            log.warning("registries unavailable for a check (attempt %d): %s; will retry", check.attempts, exc)
            return 1
        except Exception as exc:  # noqa: BLE001 - an unexpected answer: keep the job, alert ops
            reschedule(check, repr(exc), cap_s=300)
            log.error("check failed unexpectedly (attempt %d): %r", check.attempts, exc)
            return 1
        result = _result(check.application, facts, extra, asked.evidence)
        check.status = "done"
        check.result = result
        check.completed_at = datetime.now(timezone.utc)
        await add_event(
            session,
            messaging,
            TOPIC,
            make_event("eligibility.checked", source=SOURCE, subject=str(check.application_id), data=result),
        )
        return 1
