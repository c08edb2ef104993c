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
        s.wait_ready()  # as make run does: every consumer in its group before the first test files a case
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

    async def submit(
        self, body: dict, *, role: str, sub: str | None = None, key: str | None = None, own_payee: bool = True
    ) -> httpx.Response:
        if own_payee:
            await self.seed_own_payee(body)
        headers = await self.auth(role, sub) | {"Idempotency-Key": key or str(uuid.uuid4())}
        return await self.gw.post("/api/v1/applications", json=body, headers=headers)

    async def seed_own_payee(self, body: object) -> None:
        """Payee safety (docs/benefits.md): the system pays by itself only to the applicant's own account and, for a
        burial, to a relative of the deceased. The applicants of these flows are such people: the banks' registry
        lists the IBAN they give, and the civil registry their marriage to the deceased (``own_payee=False``: a
        stranger)."""
        if not isinstance(body, dict):
            return
        applicant, account = body.get("applicant"), body.get("bank_account")
        iin = applicant.get("iin") if isinstance(applicant, dict) else None
        iban = account.get("iban") if isinstance(account, dict) else None
        fixtures: dict[str, list[dict]] = {}
        if isinstance(iin, str) and isinstance(iban, str):
            fixtures["bank_accounts"] = [{"iin": iin, "iban": iban}]
        deceased = body.get("deceased_iin")
        if body.get("benefit") == "burial" and isinstance(iin, str) and isinstance(deceased, str) and deceased != iin:
            fixtures["marriages"] = [{"iin_a": deceased, "iin_b": iin, "date": "1970-01-01", "dissolved_on": None}]
        if fixtures:
            r = await self.sandbox.post("/sandbox/fixtures", json=fixtures)
            if r.status_code != 422:  # 422: a malformed body the test sends on purpose (its 422 is the point)
                r.raise_for_status()

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


# --- helpers for the disability, survivor and documents flows (issue 5) -------------------------

IBAN = "KZ86125KZT5004100100"


def months_back(d: date, months: int) -> date:
    """facts.md Retroactivity: calendar months back, clamping to the month's last day (31 May − 3 → 28/29 Feb)."""
    import calendar as _cal

    total = d.year * 12 + (d.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(d.day, _cal.monthrange(year, month)[1]))


def years_back(d: date, years: int, *, days: int = 0) -> date:
    """The birthday of someone aged ``years`` on ``d`` (29 Feb → 28 Feb), ``days`` further back."""
    from datetime import timedelta

    try:
        born = d.replace(year=d.year - years)
    except ValueError:
        born = d.replace(year=d.year - years, day=28)
    return born - timedelta(days=days)


def almaty_day(instant: str) -> date:
    """The Asia/Almaty day of an RFC 3339 instant (the application day, facts.md Identifiers: time zone)."""
    from datetime import datetime

    from common.calendar import ALMATY

    return datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(ALMATY).date()


def working_days_after(d: str | date, n: int) -> str:
    """facts.md Deadline arithmetic: the n-th working day after ``d``, as the API writes it."""
    from common.calendar import default_calendar

    start = date.fromisoformat(d) if isinstance(d, str) else d
    return default_calendar().add_working_days(start, n).isoformat()


def person(
    iin: str, born: date, *, last_name: str = "Сейітова", first_name: str = "Айгүл", phone: str | None = None
) -> dict:
    """A ГБД ФЛ record."""
    return {"iin": iin, "last_name": last_name, "first_name": first_name, "birth_date": born.isoformat()} | (
        {"phone": phone} if phone else {}
    )


def disability_body(
    *, channel: str, applicant_iin: str, phone: str | None = None, iban: str | None = IBAN, **extra
) -> dict:
    body = {
        "benefit": "disability",
        "channel": channel,
        "applicant": {"iin": applicant_iin},
        "consents": {"personal_data": True, "proactive": channel == "proactive"},
    }
    if phone:
        body["phone"] = phone
    if iban:
        body["bank_account"] = {"iban": iban}
    return body | extra


def survivor_body(
    *, channel: str, applicant_iin: str, deceased_iin: str, dependants: list[str], phone: str | None = None,
    iban: str | None = IBAN, **extra,
) -> dict:
    body = {
        "benefit": "survivor",
        "channel": channel,
        "applicant": {"iin": applicant_iin},
        "consents": {"personal_data": True, "proactive": channel == "proactive"},
        "deceased_iin": deceased_iin,
        "dependants": dependants,
    }
    if phone:
        body["phone"] = phone
    if iban:
        body["bank_account"] = {"iban": iban}
    return body | extra


SUBMITTER = {"portal": "citizen", "proactive": "mobile", "state_corp": "operator", "provider": "specialist"}


async def submit_as_channel(api: Api, body: dict) -> httpx.Response:
    """Submit with the role that owns the body's channel (api.md Role ↔ channel)."""
    role = SUBMITTER[body["channel"]]
    sub = body["applicant"]["iin"] if role == "citizen" else f"{role}-e2e"
    return await api.submit(body, role=role, sub=sub)


async def draft_for(api: Api, application_id: str, *, benefit: str | None = None, timeout: float = 30.0) -> dict:
    """The decision awaiting a specialist for an application (GET /api/v1/decisions?status=awaiting_signature)."""
    headers = await api.auth("specialist", "specialist-e2e")
    params = {"status": "awaiting_signature", "limit": 500} | ({"benefit": benefit} if benefit else {})
    deadline = time.monotonic() + timeout
    while True:
        r = await api.gw.get("/api/v1/decisions", params=params, headers=headers)
        r.raise_for_status()
        found = [d for d in r.json()["items"] if d["application_id"] == application_id]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no draft awaiting signature for application {application_id}")
        await asyncio.sleep(0.2)


async def decision_detail(api: Api, decision_id: str) -> dict:
    r = await api.gw.get(f"/api/v1/decisions/{decision_id}", headers=await api.auth("specialist", "specialist-e2e"))
    r.raise_for_status()
    return r.json()


async def sign(api: Api, decision_id: str, body: dict, *, sub: str = "specialist-e2e") -> httpx.Response:
    """POST /api/v1/decisions/{id}/sign as a specialist; body = {outcome, reasons, note, amount_kzt}."""
    headers = await api.auth("specialist", sub)
    return await api.gw.post(f"/api/v1/decisions/{decision_id}/sign", json=body, headers=headers)


async def post_documents(
    api: Api, application_id: str, documents: list[dict], *, role: str = "operator", sub: str = "operator-e2e"
) -> httpx.Response:
    """api.md Documents: the operator attaches what the case asked for."""
    headers = await api.auth(role, sub)
    url = f"/api/v1/applications/{application_id}/documents"
    return await api.gw.post(url, json={"documents": documents}, headers=headers)


async def wait_list(fetch, n: int, timeout: float = 30.0) -> list[dict]:
    """Poll until ``n`` items, then wait a little longer so anything sent twice shows up."""
    deadline = time.monotonic() + timeout
    while True:
        items = await fetch()
        if len(items) >= n or time.monotonic() > deadline:
            await asyncio.sleep(0.5)
            return await fetch()
        await asyncio.sleep(0.2)


async def wait_for(fetch, predicate, timeout: float = 30.0) -> list[dict]:
    """Poll ``fetch`` until ``predicate(items)`` holds; return the items either way."""
    deadline = time.monotonic() + timeout
    while True:
        items = await fetch()
        if predicate(items) or time.monotonic() > deadline:
            return items
        await asyncio.sleep(0.2)


async def wait_sms(api: Api, phone: str, n: int, timeout: float = 30.0) -> list[dict]:
    return await wait_list(lambda: api.sms(phone), n, timeout)


async def wait_cabinet(api: Api, iin: str, n: int, timeout: float = 30.0) -> list[dict]:
    return await wait_list(lambda: api.cabinet(iin), n, timeout)


def assert_read_model_consistent(app: dict) -> None:
    """benefits.md States: never a later status without the history that led there.

    payment_queued / paid only after assigned, with a signed assign decision; assigned / refused only with
    a decision of that outcome; history strictly follows the application state machine.
    """
    statuses = [h["status"] for h in app["history"]]
    assert statuses and statuses[0] == "received", statuses
    assert statuses[-1] == app["status"], (statuses, app["status"])
    allowed = {
        "received": {"registered", "rejected"},
        "registered": {"awaiting_documents", "awaiting_signature", "assigned", "refused"},
        "awaiting_documents": {"registered"},
        "awaiting_signature": {"assigned", "refused"},
        "assigned": {"payment_queued"},
        "payment_queued": {"paid"},
    }
    for before, after in zip(statuses, statuses[1:]):
        assert after in allowed.get(before, set()), f"{before} -> {after} in {statuses}"
    if app["status"] in ("assigned", "payment_queued", "paid"):
        assert "assigned" in statuses
        assert app["decision"] is not None and app["decision"]["outcome"] == "assign", app["decision"]
        assert app["decision"]["signed_at"] and app["decision"]["signed_by"]
    if "payment_queued" in statuses:
        assert statuses.index("assigned") < statuses.index("payment_queued"), statuses
    if app["status"] == "refused":
        assert app["decision"] is not None and app["decision"]["outcome"] == "refuse", app["decision"]
    if app["status"] in ("received", "registered", "awaiting_documents", "rejected"):
        assert app["decision"] is None or app["decision"].get("signed_at") is None, app["decision"]
