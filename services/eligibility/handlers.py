"""Eligibility: record a check job per application and round; a worker asks the registries and decides."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.envelope import Envelope
from common.events import ApplicationData, ApplicationReceived, DocumentsProvided, EligibilityChecked, envelope_of
from common.http import ExternalUnavailable
from common.jobs import claim_due, record_attempt, reschedule, trace_context, traced
from common.outbox import add_event
from services.eligibility.adapters.egov import EgovRegistries
from services.eligibility.adapters.orm import Check, messaging
from services.eligibility.domain.model import Evaluation
from services.eligibility.domain.policies import policy_for

log = logging.getLogger(__name__)
SOURCE = "eligibility"
TOPIC = "eligibility"


async def _record(session: AsyncSession, application: ApplicationData, round_: int) -> None:
    await session.execute(
        pg_insert(Check)
        .values(
            application_id=application.application_id,
            round=round_,
            benefit=application.benefit,
            application=application.model_dump(mode="json"),
            traceparent=trace_context(),
        )
        .on_conflict_do_nothing()
    )


async def on_application_received(session: AsyncSession, event: Envelope) -> None:
    """Only record the job: the registries are asked by the worker, so an outage never blocks the partition."""
    await _record(session, ApplicationReceived.of(event), 1)


async def on_documents_provided(session: AsyncSession, event: Envelope) -> None:
    """D§7, S§7: the operator attached documents; check again with them as evidence (the next round)."""
    application = DocumentsProvided.of(event)
    last = await session.scalar(select(func.max(Check.round)).where(Check.application_id == application.application_id))
    await _record(session, application, (last or 0) + 1)


def _document_evidence(application: ApplicationData) -> list[dict[str, Any]]:
    """Each document the case holds, as evidence with its source and time (api.md Decisions)."""
    return [
        {
            "source": "document",
            "registry": f"document:{doc.type}",
            "query": doc.type,
            "status": None,
            "answer": doc.model_dump(mode="json"),
            "received_at": (doc.attached_at or application.received_at).isoformat(),
        }
        for doc in application.documents
    ]


def result_event(
    application: ApplicationData, round_: int, evaluation: Evaluation, evidence: list[dict[str, Any]]
) -> EligibilityChecked:
    return EligibilityChecked.model_validate(
        {
            "application_id": application.application_id,
            "benefit": application.benefit,
            "channel": application.channel,
            "round": round_,
            "eligible": evaluation.eligible,
            "automated": evaluation.automated,
            "reasons": list(evaluation.reasons),
            "requested_documents": list(evaluation.requested_documents),
            "facts": evaluation.facts,
            "explanation": [line.model_dump(mode="json") for line in evaluation.explanation],
            "evidence": evidence + _document_evidence(application),
            "checked_at": datetime.now(timezone.utc),
        }
    )


async def run_one_check(sessions: async_sessionmaker, registries: EgovRegistries) -> int:
    """Claim one due check, ask the registries, emit the result; 0 when nothing was due."""
    async with sessions() as session, session.begin():
        check = await claim_due(session, Check)
        if check is None:
            return 0
        with traced(check, "registry check", **{"emaket.application_id": str(check.application_id)}):
            return await _run_check(session, check, registries)


async def _run_check(session: AsyncSession, check: Check, registries: EgovRegistries) -> int:
    application = ApplicationData.model_validate(check.application)
    asked = registries.session()
    try:
        evaluation = await policy_for(application.benefit).check(asked, application)
    except ExternalUnavailable as exc:
        reschedule(check, str(exc), cap_s=60)
        log.warning("registries unavailable for a check (attempt %d): %s; will retry", check.attempts, exc)
        return 1
    except Exception as exc:  # noqa: BLE001 - an unexpected answer: keep the job, alert ops
        reschedule(check, repr(exc), cap_s=300)
        log.error("check failed unexpectedly (attempt %d): %r", check.attempts, exc)
        return 1
    result = result_event(application, check.round, evaluation, asked.evidence)
    check.status = "done"
    record_attempt(check, "succeeded")
    check.result = result.model_dump(mode="json")
    check.completed_at = datetime.now(timezone.utc)
    envelope = envelope_of(result, source=SOURCE, subject=str(check.application_id))
    await add_event(session, messaging, TOPIC, envelope)
    return 1


