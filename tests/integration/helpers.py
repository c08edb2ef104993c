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

from common.calendar import ALMATY
from common.db import make_engine, make_session_factory
from common.envelope import Envelope, make_event
from common.http import ResilientClient
from common.identifiers import make_bin, make_iin
from common.migrations import upgrade_head
from common.outbox import MessagingTables
from common.reasons import reason
from sandbox.app import SandboxSettings
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
        self.app = create_sandbox_app(hang_seconds=0.05, settings=SandboxSettings(DEV_MODE=True))
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
    benefit: str = "burial",
    applicant_iin: str | None = None,
    applicant_bin: str | None = None,
    deceased_iin: str | None = None,
    dependants: tuple[str, ...] = (),
    also_apply_for: tuple[str, ...] = (),
    iban: str | None = IBAN,
    phone: str | None = None,
    registered: bool = True,
    received_at: datetime = RECEIVED_AT,
    documents: tuple[dict, ...] = (),
) -> dict:
    """`data` of intake's application.* events: the typed contract `common.events.ApplicationData`."""
    from common.events import ApplicationRegistered

    if applicant_iin is None and applicant_bin is None:
        applicant_iin = new_iin(sex="F")
    if channel == "proactive" and phone is None:
        phone = new_phone()
    if benefit in ("burial", "survivor") and deceased_iin is None:
        deceased_iin = new_deceased()
    if channel == "proactive" or (channel != "portal" and phone):
        contact = {"channel": "sms", "phone": phone, "iin": applicant_iin}
    elif applicant_iin:
        contact = {"channel": "cabinet", "phone": None, "iin": applicant_iin}
    else:
        contact = {"channel": None, "phone": None, "iin": None}
    prefix = {"burial": "BUR", "disability": "DIS", "survivor": "SUR"}[benefit]
    event = ApplicationRegistered.model_validate(
        {
            "application_id": str(uuid.uuid4()),
            "benefit": benefit,
            "channel": channel,
            "status": "registered" if registered else "received",
            "received_at": received_at.isoformat(),
            "received_on": received_at.astimezone(ALMATY).date().isoformat(),
            "applicant": {"iin": applicant_iin, "bin": applicant_bin},
            "deceased_iin": deceased_iin,
            "dependants": list(dependants),
            "also_apply_for": list(also_apply_for),
            "iban": iban,
            "documents": list(documents),
            "consents": {"personal_data": True, "proactive": channel == "proactive"},
            "registration_number": f"{prefix}-20261102-{next(_serials):07d}" if registered else None,
            "registered_on": "2026-11-02" if registered else None,
            "due_by": "2026-11-03" if registered else None,
            "contact": contact,
        }
    )
    return event.model_dump(mode="json")


def application_event(name: str, data: dict, **extra) -> Envelope:
    return make_event(name, source="intake", subject=data["application_id"], data=data | extra)


def eligibility_data(application: dict, *, eligible: bool = True, died: str | None = DIED) -> dict:
    """`data` of eligibility.checked for a burial case: the typed contract `common.events.EligibilityChecked`."""
    from common.events import EligibilityChecked

    at = RECEIVED_AT.isoformat()
    evidence = [
        {"registry": "ГБД ФЛ", "query": "persons", "status": 200, "answer": {}, "received_at": at},
        {"registry": "ИС ЗАГС", "query": "civil.deaths", "status": 200, "answer": {}, "received_at": at},
    ]
    event = EligibilityChecked.model_validate(
        {
            "application_id": application["application_id"],
            "benefit": application["benefit"],
            "channel": application["channel"],
            "round": 1,
            "eligible": eligible,
            "automated": application["channel"] in ("portal", "proactive"),
            "reasons": [] if eligible else [reason("not_a_recipient")],
            "facts": {
                "date_of_death": died,
                "received_on": application["received_on"],
                "recipient_kind": "age_pension" if eligible else None,
                "payee_iban": application.get("iban"),
            },
            "explanation": [
                {"rule": "recipient_on_date_of_death", "paragraph": "B§13 check 4", "outcome": "pass" if eligible else "fail", "facts": {}}
            ],
            "evidence": evidence,
            "checked_at": at,
        }
    )
    return event.model_dump(mode="json")


def decision_signed_data(application: dict, *, outcome: str = "assign", amount_kzt: int = BURIAL_2026_KZT) -> dict:
    """`data` of decision.signed: the typed contract `common.events.DecisionSigned`."""
    from common.events import DecisionSigned

    reasons = [] if outcome == "assign" else [reason("not_a_recipient")]
    applicant = application["applicant"]
    monthly = application["benefit"] != "burial"
    event = DecisionSigned.model_validate(
        {
            "decision_id": str(uuid.uuid4()),
            "application_id": application["application_id"],
            "benefit": application["benefit"],
            "channel": application["channel"],
            "status": "assigned" if outcome == "assign" else "refused",
            "outcome": outcome,
            "proposed_outcome": outcome,
            "amount_kzt": amount_kzt if outcome == "assign" else 0,
            "amount_kind": "monthly" if monthly else "one_time",
            "period_start": "2026-08-02" if monthly and outcome == "assign" else None,
            "reasons": reasons,
            "signed_at": datetime(2026, 11, 3, 6, 0, tzinfo=timezone.utc).isoformat(),
            "signed_by": "e-maket:auto (on behalf of the authorised official)",
            "registration_number": application["registration_number"],
            "contact": application["contact"],
            "payment": {"payee_iin": applicant.get("iin"), "payee_bin": applicant.get("bin"), "iban": application.get("iban")},
        }
    )
    return event.model_dump(mode="json")


def decision_event(data: dict) -> Envelope:
    return make_event("decision.signed", source="decision", subject=data["application_id"], data=data)
