"""Shared pieces of the per-service integration tests.

A migrated database per test (real PostgreSQL, never create_all), the real
sandbox app in process standing in for the external systems, synthetic people,
and event payloads built by the producers' own code where it is reachable, so a
consumer test reads the shape its producer really writes.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timezone

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from common.db import make_engine, make_session_factory
from common.envelope import Envelope, make_event
from common.http import ResilientClient
from common.identifiers import make_bin, make_iin
from common.migrations import upgrade_head
from common.outbox import MessagingTables
from common.reasons import reason
from sandbox.app import create_app as create_sandbox_app

IBAN = "KZ86125KZT5004100100"
OTHER_IBAN = "KZ75125KZT2069100100"
# Fixed instants keep the law arithmetic deterministic: 35 MCI at the 2026 MCI (4 325 tenge).
DIED = "2026-10-01"
RECEIVED_AT = datetime(2026, 11, 2, 5, 0, tzinfo=timezone.utc)  # a Monday, 10:00 in Almaty
BURIAL_2026_KZT = 35 * 4325

# Birth dates and the phone prefix differ from tests/e2e's, so the people here never meet theirs
# (the Kafka mock cluster is shared by the session, and the relay publishes what these tests write).
DECEASED_BORN = date(1941, 7, 7)
_serials = itertools.count(1)
_phones = itertools.count(1)


def new_iin(born: date = date(1961, 6, 15), sex: str = "M") -> str:
    """A fresh valid IIN, distinct within the test session."""
    return make_iin(born, sex, next(_serials))


def new_deceased() -> str:
    return new_iin(DECEASED_BORN)


def new_bin() -> str:
    return make_bin(date(2010, 5, 1), next(_serials))


def new_phone() -> str:
    return f"+7705{next(_phones):07d}"


# --- database -------------------------------------------------------------------------


@asynccontextmanager
async def migrated(url: str, service: str) -> AsyncIterator[async_sessionmaker]:
    """Sessions on `service`'s schema after its own Alembic history ran on a fresh database."""
    await asyncio.to_thread(upgrade_head, service, url)
    engine = make_engine(url, schema=service)
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


async def outbox_events(sessions: async_sessionmaker, tables: MessagingTables) -> list[Envelope]:
    """Every event the service wrote to its outbox, in commit order."""
    async with sessions() as session:
        rows = (await session.execute(select(tables.outbox.c.envelope).order_by(tables.outbox.c.id))).scalars().all()
    return [Envelope.model_validate(row) for row in rows]


async def outbox_names(sessions: async_sessionmaker, tables: MessagingTables) -> list[str]:
    return [e.name for e in await outbox_events(sessions, tables)]


async def make_due_now(sessions: async_sessionmaker, model, **where) -> None:
    """Move a retried job's next attempt to now (instead of sleeping through its backoff)."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(model)
            .where(*[getattr(model, k) == v for k, v in where.items()])
            .values(next_attempt_at=datetime.now(timezone.utc))
        )


# --- the sandbox of external systems -------------------------------------------------


class Sandbox:
    """The real sandbox app in process: adapters reach it through an ASGI transport."""

    def __init__(self) -> None:
        self.app = create_sandbox_app(hang_seconds=0.05)
        self.transport = httpx.ASGITransport(app=self.app)
        self.admin = httpx.AsyncClient(transport=self.transport, base_url="http://sandbox")
        self._clients: list[ResilientClient] = []

    def client(self, system: str) -> ResilientClient:
        """What a service's runtime builds: 3 attempts, backoff (shortened here), circuit breaker."""
        client = ResilientClient(
            system=system,
            base_url="http://sandbox",
            transport=self.transport,
            backoff_base_s=0.001,
        )
        self._clients.append(client)
        return client

    async def seed(self, **fixtures) -> None:
        r = await self.admin.post("/sandbox/fixtures", json=fixtures)
        assert r.status_code == 200, r.text

    async def fail_next(self, system: str, count: int) -> None:
        r = await self.admin.post("/sandbox/faults", json={"system": system, "fail_next": count})
        assert r.status_code == 200, r.text

    async def clear_faults(self) -> None:
        (await self.admin.delete("/sandbox/faults")).raise_for_status()

    async def sent(self, what: str, **params) -> list[dict]:
        """Records from /sandbox/payments, /sandbox/sms or /sandbox/cabinet."""
        r = await self.admin.get(f"/sandbox/{what}", params=params)
        r.raise_for_status()
        return r.json()["items"]

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()
        await self.admin.aclose()


def deceased_fixtures(iin: str, *, died: str = DIED, recipient: bool = True) -> dict:
    """Registry records of a deceased pension recipient (ГБД ФЛ, ИС ЗАГС, pension recipients)."""
    fixtures = {
        "persons": [{"iin": iin, "last_name": "Сейітов", "first_name": "Қайрат", "birth_date": "1941-07-07"}],
        "deaths": [{"iin": iin, "date": died}],
    }
    if recipient:
        fixtures["recipients"] = [{"iin": iin, "kind": "age_pension", "from": "2005-05-05", "to": None}]
    return fixtures


# --- event payloads, as their producers write them --------------------------------


def application_data(
    *,
    channel: str = "proactive",
    applicant_iin: str | None = None,
    applicant_bin: str | None = None,
    deceased_iin: str | None = None,
    iban: str | None = IBAN,
    phone: str | None = None,
    registered: bool = True,
    received_at: datetime = RECEIVED_AT,
) -> dict:
    """`data` of intake's application.* events, made by intake's own `_application_data`."""
    from services.intake.adapters.orm import Application
    from services.intake.handlers import _application_data

    if applicant_iin is None and applicant_bin is None:
        applicant_iin = new_iin(sex="F")
    if channel == "proactive" and phone is None:
        phone = new_phone()
    body: dict = {
        "benefit": "burial",
        "channel": channel,
        "applicant": {"iin": applicant_iin} if applicant_iin else {"bin": applicant_bin},
        "consents": {"personal_data": True, "proactive": channel == "proactive"},
        "deceased_iin": deceased_iin or new_deceased(),
    }
    if phone:
        body["phone"] = phone
    if iban:
        body["bank_account"] = {"iban": iban}
    app = Application(
        id=uuid.uuid4(),
        benefit="burial",
        channel=channel,
        status="registered" if registered else "received",
        applicant_iin=applicant_iin,
        applicant_bin=applicant_bin,
        deceased_iin=body["deceased_iin"],
        body=body,
        received_at=received_at,
        registration_number=f"BUR-20261102-{next(_serials):07d}" if registered else None,
        registered_on=date(2026, 11, 2) if registered else None,
        due_by=date(2026, 11, 3) if registered else None,
    )
    return _application_data(app)


def application_event(name: str, data: dict, **extra) -> Envelope:
    return make_event(name, source="intake", subject=data["application_id"], data=data | extra)


def eligibility_data(application: dict, *, eligible: bool = True, died: str | None = DIED) -> dict:
    """`data` of eligibility.checked, made by eligibility's own `_result` from registry facts."""
    from services.eligibility.domain.rules import BurialFacts, RecipientPeriod
    from services.eligibility.handlers import _result

    death = date.fromisoformat(died) if died else None
    facts = BurialFacts(
        received_on=date.fromisoformat(application["received_on"]),
        death_date=death,
        death_certificate_given=False,
        deceased_known=True,
        recipient_periods=(RecipientPeriod("age_pension", date(2005, 5, 5), None if eligible else date(2010, 1, 1)),),
        payment_account_known=True,
    )
    evidence = [
        {"registry": "ГБД ФЛ", "query": "persons", "status": 200, "answer": {}, "received_at": RECEIVED_AT.isoformat()},
        {"registry": "ИС ЗАГС", "query": "civil.deaths", "status": 200, "answer": {}, "received_at": RECEIVED_AT.isoformat()},
    ]
    extra = {"payee_iban": application.get("iban"), "recipient_kind": "age_pension" if eligible else None}
    result = _result(application, facts, extra, evidence)
    assert result["eligible"] is eligible, result["reasons"]
    return result


def decision_signed_data(application: dict, *, outcome: str = "assign", amount_kzt: int = BURIAL_2026_KZT) -> dict:
    """`data` of decision.signed as services/decision/handlers.py `_emit` writes it.

    test_decision.py checks that the real event carries every key used here.
    """
    reasons = [] if outcome == "assign" else [reason("not_a_recipient")]
    applicant = application["applicant"]
    return {
        "decision_id": str(uuid.uuid4()),
        "application_id": application["application_id"],
        "benefit": application["benefit"],
        "channel": application["channel"],
        "status": "signed",
        "outcome": outcome,
        "proposed_outcome": outcome,
        "amount_kzt": amount_kzt if outcome == "assign" else 0,
        "period_start": None,
        "reasons": reasons,
        "signed_at": datetime(2026, 11, 3, 6, 0, tzinfo=timezone.utc).isoformat(),
        "signed_by": "e-maket:auto (B§19-1, on behalf of the authorised official)",
        "registration_number": application["registration_number"],
        "contact": application["contact"],
        "payment": {"payee_iin": applicant.get("iin"), "payee_bin": applicant.get("bin"), "iban": application.get("iban")},
    }


def decision_event(data: dict) -> Envelope:
    return make_event("decision.signed", source="decision", subject=data["application_id"], data=data)
