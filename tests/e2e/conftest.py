"""The whole stack as separate processes (sandbox, five services, gateway), as `make run` starts it."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from datetime import date

import asyncpg
import httpx
import pytest

from common.identifiers import make_iin
from tools.mock_kafka import start_mock_kafka, stop_mock_kafka
from tools.pg import to_asyncpg_dsn
from tools.stack import PROCESSES, Stack, free_ports

# Production keeps the defaults (10 s); the suite shortens how long a killed consumer holds its
# partitions and how long an open circuit waits, so crash and outage tests finish quickly.
FAST_RECOVERY = {"KAFKA_SESSION_TIMEOUT_MS": "3000", "KAFKA_HEARTBEAT_INTERVAL_MS": "500", "HTTP_BREAKER_RESET_S": "1", "PAYMENTS_PAID_POLL_S": "0.5"}

_serials = itertools.count(random.randint(1000, 5000))


def new_iin(born: date = date(1950, 1, 1), sex: str = "M") -> str:
    """A fresh valid IIN, unique within the session, so tests never share people."""
    return make_iin(born, sex, next(_serials))


@pytest.fixture(scope="package")
def stack(database_url, tmp_path_factory):
    # A broker of its own: integration tests publish on the session's broker, and the stack's
    # fresh consumer groups would read all of that from the beginning.
    kafka, bootstrap = start_mock_kafka()
    names = [name for name, _ in PROCESSES]
    ports = dict(zip(names, free_ports(len(names))))
    data_dir = tmp_path_factory.mktemp("stack")
    s = Stack(database_url, bootstrap, ports=ports, data_dir=data_dir, extra_env={"LOG_LEVEL": "INFO", **FAST_RECOVERY})
    try:
        s.start()
        yield s
    finally:
        s.stop()
        stop_mock_kafka(kafka)


class Api:
    """A caller of the public API through the gateway, plus the sandbox's records."""

    def __init__(self, stack: Stack, db_dsn: str) -> None:
        self.stack = stack
        self.gw = httpx.AsyncClient(base_url=stack.url("gateway"), timeout=30)
        self.sandbox = httpx.AsyncClient(base_url=stack.url("sandbox"), timeout=30)
        self.db_dsn = db_dsn
        self._tokens: dict[tuple[str, str | None], str] = {}

    async def aclose(self) -> None:
        await self.gw.aclose()
        await self.sandbox.aclose()

    async def token(self, role: str, sub: str | None = None) -> str:
        key = (role, sub)
        if key not in self._tokens:
            body = {"role": role} | ({"sub": sub} if sub else {})
            r = await self.gw.post("/api/v1/dev/token", json=body)
            r.raise_for_status()
            self._tokens[key] = r.json()["access_token"]
        return self._tokens[key]

    async def auth(self, role: str, sub: str | None = None) -> dict:
        return {"Authorization": f"Bearer {await self.token(role, sub)}"}

    async def submit(self, body: dict, *, role: str, sub: str | None = None, key: str | None = None) -> httpx.Response:
        headers = await self.auth(role, sub) | {"Idempotency-Key": key or str(uuid.uuid4())}
        return await self.gw.post("/api/v1/applications", json=body, headers=headers)

    async def get(self, app_id: str, *, role: str = "ops", sub: str | None = None) -> dict:
        r = await self.gw.get(f"/api/v1/applications/{app_id}", headers=await self.auth(role, sub))
        r.raise_for_status()
        return r.json()

    async def wait_status(self, app_id: str, statuses: set[str], timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            app = await self.get(app_id)
            if app["status"] in statuses:
                return app
            if time.monotonic() > deadline:
                raise AssertionError(f"application stayed {app['status']!r}, wanted {statuses}: {app}")
            await asyncio.sleep(0.2)

    async def seed(self, **fixtures) -> None:
        r = await self.sandbox.post("/sandbox/fixtures", json=fixtures)
        r.raise_for_status()

    async def payments_for(self, application_ids: set[str]) -> list[dict]:
        items = (await self.sandbox.get("/sandbox/payments")).json()["items"]
        return [p for p in items if p["application_id"] in application_ids]

    async def sms(self, phone: str) -> list[dict]:
        return (await self.sandbox.get("/sandbox/sms", params={"phone": phone})).json()["items"]

    async def cabinet(self, iin: str) -> list[dict]:
        return (await self.sandbox.get("/sandbox/cabinet", params={"iin": iin})).json()["items"]

    async def db_scalar(self, sql: str, *args):
        conn = await asyncpg.connect(self.db_dsn)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()


@pytest.fixture
async def api(stack, database_url):
    client = Api(stack, to_asyncpg_dsn(database_url))
    try:
        yield client
    finally:
        await client.aclose()


def seed_deceased(*, died: str, pension_from: str = "2000-01-01", pension_to: str | None = None, death_record: bool = True):
    """Fixture lists for a deceased pension recipient."""
    iin = new_iin(date(1940, 5, 5))
    fixtures = {
        "persons": [{"iin": iin, "last_name": "Сейітов", "first_name": "Қайрат", "birth_date": "1940-05-05"}],
        "recipients": [{"iin": iin, "kind": "age_pension", "from": pension_from, "to": pension_to}],
    }
    if death_record:
        fixtures["deaths"] = [{"iin": iin, "date": died}]
    return iin, fixtures


def burial_body(*, channel: str, applicant_iin: str, deceased_iin: str, phone: str | None = None, iban: str | None = "KZ86125KZT5004100100", **extra) -> dict:
    body = {
        "benefit": "burial",
        "channel": channel,
        "applicant": {"iin": applicant_iin},
        "consents": {"personal_data": True, "proactive": channel == "proactive"},
        "deceased_iin": deceased_iin,
    }
    if phone:
        body["phone"] = phone
    if iban:
        body["bank_account"] = {"iban": iban}
    return body | extra


_phones = itertools.count(random.randint(1_000_000, 8_000_000))


def new_phone() -> str:
    return f"+7701{next(_phones):07d}"
