"""Chaos run: many cases while every service and the gateway are SIGKILLed, then the invariants.

`make chaos` (or ``python -m tools.chaos --cases 60 --kills 12 --seed 7``) starts the whole
stack on free loopback ports with a fresh database and its own mock Kafka, sets the sandbox's
faults (by default 10 % errors and 2 % time-outs on the e-gov registries, 5 % errors on the
payments database, the SMS gateway and the cabinet), files M cases of every benefit through the
gateway — automatic ones and ones a specialist signs (this tool signs them through the API as a
specialist) — and confirms placed payment orders as the payments database would, while it kills
intake, eligibility, decision, payment_queue, notifier and the gateway with SIGKILL at random
moments (each at least once) and restarts each after a short random delay. Clients retry what
failed with the same Idempotency-Key, as a real portal does. Then it waits until the system
settles and checks the invariants (docs/reliability.md); it prints them as figures, writes a
JSON report (``bench/chaos/<timestamp>.json`` unless ``--no-json``) and exits 0 only if every
invariant holds.

The plan — which cases, which process is killed when and for how long, the faults' random
draws — follows from ``--seed``; the machine's timing does not, so a repeated run hits the
same plan at (slightly) different moments.

``run_chaos(stack, database_url, config)`` is the core, also used by tests/e2e/test_chaos.py.
"""

from __future__ import annotations

import argparse
import asyncio
import calendar
import json
import os
import platform
import random
import re
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

import asyncpg
import httpx

from common.identifiers import make_iin
from services.intake.domain.status import TERMINAL, TRANSITIONS, ApplicationStatus
from tools.pg import to_asyncpg_dsn
from tools.stack import Stack

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("intake", "eligibility", "decision", "payment_queue", "notifier")
TARGETS = (*SERVICES, "gateway")  # the sandbox stands in for the outside world: never killed
IBAN = "KZ86125KZT5004100100"

# How the stack is started for a chaos run: a killed consumer's partitions are free again after 3 s
# (one member per group on the mock broker), an open circuit is tried again after 1 s, and placed
# payment orders are asked about every 0.5 s. Same values as the end-to-end suite.
FAST_RECOVERY = {
    "KAFKA_SESSION_TIMEOUT_MS": "3000",
    "KAFKA_HEARTBEAT_INTERVAL_MS": "500",
    "HTTP_BREAKER_RESET_S": "1",
    "PAYMENTS_PAID_POLL_S": "0.5",
}

# The fault model (issue "Lean and proven under load", point 5): per system of the sandbox.
DEFAULT_FAULTS: dict[str, dict[str, float]] = {
    "egov": {"error_rate": 0.10, "timeout_rate": 0.02},
    "payments": {"error_rate": 0.05, "timeout_rate": 0.0},
    "sms": {"error_rate": 0.05, "timeout_rate": 0.0},
    "cabinet": {"error_rate": 0.05, "timeout_rate": 0.0},
}

RETRY_STATUSES = {429, 500, 502, 503, 504}


@dataclass
class ChaosConfig:
    cases: int = 60
    kills: int = 12
    seed: int = 7
    faults: dict[str, dict[str, float]] = field(default_factory=lambda: {k: dict(v) for k, v in DEFAULT_FAULTS.items()})
    # Seconds between a restarted process being healthy and the next kill, and how long a killed process stays down.
    kill_gap_s: tuple[float, float] = (1.0, 4.0)
    down_s: tuple[float, float] = (0.5, 3.0)
    # Submissions are spread over about this many seconds (None: the kill window's estimate).
    submit_window_s: float | None = None
    settle_timeout_s: float = 240.0
    quiet_s: float = 3.0  # the sandbox's records must stay unchanged this long before the checks
    request_deadline_s: float = 180.0  # a client gives up on one request after retrying this long
    verbose: bool = True


# --------------------------------------------------------------------------
# the plan
# --------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    benefit: str
    channel: str
    signer: str  # "auto", or the outcome the specialist signs: "assign" / "refuse"
    expect: str  # the final status: paid, refused or rejected


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("burial-proactive-auto", "burial", "proactive", "auto", "paid"),
    Scenario("burial-portal-auto", "burial", "portal", "auto", "paid"),
    Scenario("burial-proactive-refused", "burial", "proactive", "auto", "refused"),
    Scenario("burial-portal-rejected", "burial", "portal", "auto", "rejected"),
    Scenario("burial-desk-signed", "burial", "state_corp", "assign", "paid"),
    Scenario("disability-proactive-auto", "disability", "proactive", "auto", "paid"),
    Scenario("disability-portal-refused", "disability", "portal", "auto", "refused"),
    Scenario("disability-portal-signed", "disability", "portal", "assign", "paid"),
    Scenario("survivor-portal-signed", "survivor", "portal", "assign", "paid"),
    Scenario("survivor-desk-refused", "survivor", "state_corp", "refuse", "refused"),
)

ROLE_OF_CHANNEL = {"portal": "citizen", "proactive": "mobile", "state_corp": "operator"}


@dataclass
class Case:
    n: int
    scenario: Scenario
    body: dict[str, Any]
    fixtures: dict[str, list[dict[str, Any]]]
    role: str
    sub: str
    key: str
    phone: str | None
    applicant: str
    app_id: str | None = None
    final: dict[str, Any] | None = None
    submit_attempts: int = 0
    replayed: bool = False
    signed: str | None = None
    db_status: str | None = None  # last status seen in intake's table while not final


def _months_back(d: date, months: int) -> date:
    total = d.year * 12 + (d.month - 1) - months
    year, month = divmod(total, 12)
    return date(year, month + 1, min(d.day, calendar.monthrange(year, month + 1)[1]))


def _years_back(d: date, years: int, days: int = 0) -> date:
    try:
        born = d.replace(year=d.year - years)
    except ValueError:
        born = d.replace(year=d.year - years, day=28)
    return born - timedelta(days=days)


def _person(iin: str, born: date, first: str = "Айгүл", last: str = "Сейітова") -> dict[str, Any]:
    return {"iin": iin, "last_name": last, "first_name": first, "birth_date": born.isoformat()}


class _People:
    """Fresh valid IINs and phones, distinct within the run (the database and the sandbox are fresh each run)."""

    def __init__(self) -> None:
        self._serial = 0
        self._phone = 0

    def iin(self, born: date, sex: str = "M") -> str:
        self._serial += 1
        return make_iin(born, sex, self._serial)

    def phone(self) -> str:
        self._phone += 1
        return f"+7705{self._phone:07d}"


def plan_cases(seed: int, count: int, today: date | None = None) -> list[Case]:
    """``count`` cases cycling through every scenario (each appears once ``count`` ≥ 10), in a seeded order."""
    rng = random.Random(f"cases:{seed}")
    today = today or datetime.now(timezone.utc).date()
    people = _People()
    scenarios = [SCENARIOS[i % len(SCENARIOS)] for i in range(count)]
    rng.shuffle(scenarios)
    cases = []
    for n, sc in enumerate(scenarios):
        fixtures: dict[str, list[dict[str, Any]]] = defaultdict(list)
        phone = people.phone() if sc.channel in ("proactive", "state_corp") else None
        body: dict[str, Any] = {
            "benefit": sc.benefit,
            "channel": sc.channel,
            "consents": {"personal_data": True, "proactive": sc.channel == "proactive"},
            "bank_account": {"iban": IBAN},
        }
        if phone:
            body["phone"] = phone
        if sc.benefit == "burial":
            deceased = people.iin(date(1940, 5, 5))
            applicant = people.iin(date(1975, 3, 3), rng.choice("MF"))
            died = today - timedelta(days=rng.randint(10, 60))
            fixtures["persons"] += [_person(deceased, date(1940, 5, 5), "Қайрат", "Сейітов"), _person(applicant, date(1975, 3, 3))]
            pension_to = "2020-01-01" if sc.name == "burial-proactive-refused" else None
            fixtures["recipients"].append({"iin": deceased, "kind": "age_pension", "from": "2000-01-01", "to": pension_to})
            if sc.name != "burial-portal-rejected":  # no death record: rejected at B§13 check 1
                fixtures["deaths"].append({"iin": deceased, "date": died.isoformat()})
            # Payee safety: the applicant's own account, and a relative (spouse) of the deceased.
            fixtures["marriages"].append({"iin_a": deceased, "iin_b": applicant, "date": "1970-01-01", "dissolved_on": None})
            body["deceased_iin"] = deceased
        elif sc.benefit == "disability":
            born = date(2005, 6, 1) if sc.name == "disability-portal-signed" else date(1980, 3, 14)
            applicant = people.iin(born, "F")
            fixtures["persons"].append(_person(applicant, born))
            cause = {"disability-proactive-auto": "general_illness", "disability-portal-signed": "childhood"}.get(sc.name)
            if cause:  # no ЦБДИ record: refused (D-Std p.9 ground 2)
                fixtures["disabilities"].append({
                    "iin": applicant, "group": rng.choice((1, 2, 3)), "cause": cause,
                    "established_on": _months_back(today, rng.randint(1, 2)).isoformat(), "until": None,
                })
        else:
            father_born, mother_born = date(1978, 9, 2), date(1982, 4, 17)
            father, applicant = people.iin(father_born, "M"), people.iin(mother_born, "F")
            fixtures["persons"] += [_person(father, father_born, "Қайрат", "Сейітов"), _person(applicant, mother_born)]
            fixtures["marriages"].append({"iin_a": father, "iin_b": applicant, "date": "2004-06-12", "dissolved_on": None})
            fixtures["deaths"].append({"iin": father, "date": _months_back(today, rng.randint(1, 6)).isoformat()})
            kids = []
            for age in rng.sample((5, 9, 13, 16), rng.randint(1, 2)):
                born = _years_back(today, age, days=90)
                kid = people.iin(born, "M" if age % 2 else "F")
                kids.append(kid)
                fixtures["persons"].append(_person(kid, born, "Бала"))
                fixtures["births"].append({"child_iin": kid, "mother_iin": applicant, "father_iin": father, "date": born.isoformat()})
            body["deceased_iin"] = father
            body["dependants"] = kids
        body["applicant"] = {"iin": applicant}
        fixtures["bank_accounts"].append({"iin": applicant, "iban": IBAN})
        role = ROLE_OF_CHANNEL[sc.channel]
        sub = applicant if role == "citizen" else f"{role}-chaos"
        key = f"chaos-{seed}-{n}-{uuid.UUID(int=rng.getrandbits(128))}"
        cases.append(Case(n, sc, body, dict(fixtures), role, sub, key, phone, applicant))
    return cases


@dataclass
class Kill:
    target: str
    gap_s: float  # wait this long (after the previous restart) before the kill
    down_s: float  # stay down this long before the restart
    at_s: float | None = None  # seconds into the run, when it happened
    filings_in_flight: int = 0  # POST /api/v1/applications under way when it happened
    exit_status: int | None = None
    restart_s: float | None = None  # start to healthy
    error: str | None = None


def plan_kills(seed: int, count: int, config: ChaosConfig) -> list[Kill]:
    """Every target once (in a seeded order) when ``count`` allows, then seeded random targets."""
    rng = random.Random(f"kills:{seed}")
    targets = list(TARGETS)
    rng.shuffle(targets)
    order = targets[:count] + [rng.choice(TARGETS) for _ in range(count - len(targets))]
    return [Kill(t, round(rng.uniform(*config.kill_gap_s), 2), round(rng.uniform(*config.down_s), 2)) for t in order]


# --------------------------------------------------------------------------
# a client that retries like a portal
# --------------------------------------------------------------------------


class Client:
    """Calls through the gateway; a transport error or a 5xx is retried (same Idempotency-Key) until the deadline."""

    def __init__(self, stack: Stack, config: ChaosConfig) -> None:
        self.gw = httpx.AsyncClient(base_url=stack.url("gateway"), timeout=httpx.Timeout(20.0, connect=2.0), trust_env=False)
        self.sandbox = httpx.AsyncClient(base_url=stack.url("sandbox"), timeout=30.0, trust_env=False)
        self.deadline_s = config.request_deadline_s
        self.tokens: dict[tuple[str, str], str] = {}
        self.retries: Counter[str] = Counter()

    async def aclose(self) -> None:
        await self.gw.aclose()
        await self.sandbox.aclose()

    async def _send(self, label: str, make: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        deadline = time.monotonic() + self.deadline_s
        delay = 0.25
        while True:
            try:
                response = await make()
                if response.status_code not in RETRY_STATUSES:
                    return response
                why = str(response.status_code)
            except httpx.HTTPError as exc:
                why = type(exc).__name__
            self.retries[f"{label}: {why}"] += 1
            if time.monotonic() > deadline:
                raise RuntimeError(f"{label}: still failing after {self.deadline_s:.0f} s ({why})")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def token(self, role: str, sub: str) -> str:
        if (role, sub) not in self.tokens:
            r = await self._send("token", lambda: self.gw.post("/api/v1/dev/token", json={"role": role, "sub": sub}))
            r.raise_for_status()
            self.tokens[(role, sub)] = r.json()["access_token"]
        return self.tokens[(role, sub)]

    async def call(self, method: str, path: str, *, role: str, sub: str, label: str | None = None,
                   json_body: Any = None, params: dict[str, Any] | None = None, key: str | None = None) -> httpx.Response:
        label = label or f"{method} {re.sub(r'[0-9a-f-]{36}', '{id}', path)}"
        for _ in range(5):
            headers = {"Authorization": f"Bearer {await self.token(role, sub)}"}
            if key:
                headers["Idempotency-Key"] = key

            def send(headers: dict[str, str] = headers) -> Awaitable[httpx.Response]:
                return self.gw.request(method, path, json=json_body, params=params, headers=headers)

            response = await self._send(label, send)
            if response.status_code != 401:
                return response
            # Dev-mode tokens are signed by a key of the gateway process: a restarted gateway no longer
            # knows them. A portal signs in again and sends the request again (same Idempotency-Key).
            self.tokens.pop((role, sub), None)
            self.retries[f"{label}: 401, new token"] += 1
        return response


# --------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------


class Run:
    def __init__(self, stack: Stack, database_url: str, config: ChaosConfig) -> None:
        self.stack = stack
        self.database_url = database_url
        self.config = config
        self.client = Client(stack, config)
        self.cases = plan_cases(config.seed, config.cases)
        self.kills = plan_kills(config.seed, config.kills, config)
        self.t0 = time.monotonic()
        self.by_app: dict[str, Case] = {}
        self.confirmed: set[str] = set()
        self.submitted = asyncio.Event()
        self.killing_done = False
        self.errors: list[str] = []
        self.filings_in_flight = 0

    def log(self, message: str) -> None:
        if self.config.verbose:
            print(f"[{time.monotonic() - self.t0:7.1f}s] {message}", file=sys.stderr, flush=True)

    def elapsed(self) -> float:
        return round(time.monotonic() - self.t0, 2)

    # ---- faults

    async def set_faults(self) -> None:
        for system, rates in self.config.faults.items():
            body = {"system": system, **rates, "seed": self.config.seed * 100 + list(DEFAULT_FAULTS).index(system)}
            r = await self.client.sandbox.post("/sandbox/faults", json=body)
            r.raise_for_status()

    # ---- the load

    async def submit_all(self) -> None:
        rng = random.Random(f"submit:{self.config.seed}")
        window = self.config.submit_window_s
        if window is None:
            per_kill = sum(self.config.kill_gap_s) / 2 + sum(self.config.down_s) / 2 + 3.0
            window = max(5.0, len(self.kills) * per_kill * 0.8)
        # Small bursts (1-3 cases at once) at random moments, so that kills find filings in flight.
        bursts: list[list[Case]] = []
        pending = list(self.cases)
        while pending:
            size = rng.randint(1, 3)
            bursts.append(pending[:size])
            pending = pending[size:]
        mean_gap = window / max(1, len(bursts))
        tasks = []
        for burst in bursts:
            tasks += [asyncio.create_task(self.submit(case)) for case in burst]
            await asyncio.sleep(rng.uniform(0, 2 * mean_gap))
        for case, outcome in zip(self.cases, await asyncio.gather(*tasks, return_exceptions=True)):
            if isinstance(outcome, BaseException):
                self.errors.append(f"case {case.n} ({case.scenario.name}) not filed: {outcome}")
                self.log(self.errors[-1])
        self.submitted.set()
        self.log(f"all {len(self.cases)} cases filed")

    async def submit(self, case: Case) -> None:
        r = await self.client.sandbox.post("/sandbox/fixtures", json=case.fixtures)
        r.raise_for_status()
        self.filings_in_flight += 1
        try:
            response = await self.client.call(
                "POST", "/api/v1/applications", role=case.role, sub=case.sub, key=case.key, json_body=case.body,
                label="POST /api/v1/applications",
            )
        finally:
            self.filings_in_flight -= 1
        if response.status_code != 202:
            raise RuntimeError(f"case {case.n} ({case.scenario.name}): filing answered {response.status_code}: {response.text[:300]}")
        case.app_id = response.json()["id"]
        case.replayed = response.headers.get("Idempotent-Replayed") == "true"
        self.by_app[case.app_id] = case

    async def specialist(self) -> None:
        """Signs the drafts of the cases planned for a specialist, as planned."""
        role, sub = "specialist", "specialist-chaos"
        while not self._all_settled_or_signed():
            await asyncio.sleep(1.0)
            r = await self.client.call("GET", "/api/v1/decisions", role=role, sub=sub,
                                       params={"status": "awaiting_signature", "limit": 500})
            if r.status_code != 200:
                self.log(f"specialist: listing answered {r.status_code}")
                continue
            for draft in r.json()["items"]:
                case = self.by_app.get(draft["application_id"])
                if case is None or case.signed or case.scenario.signer == "auto":
                    continue
                await self.sign(case, draft)

    async def sign(self, case: Case, draft: dict[str, Any]) -> None:
        outcome = case.scenario.signer
        body: dict[str, Any] = {"outcome": outcome, "reasons": []}
        if outcome != draft["outcome"]:
            body["note"] = "chaos run: signed over the proposal on purpose"
        if outcome == "refuse":
            body["reasons"] = ["data_unreliable"]
        path = f"/api/v1/decisions/{draft['id']}/sign"
        r = await self.client.call("POST", path, role="specialist", sub="specialist-chaos", json_body=body)
        if r.status_code == 409:  # an earlier attempt committed and its answer was lost: see what is signed
            r = await self.client.call("GET", f"/api/v1/decisions/{draft['id']}", role="specialist", sub="specialist-chaos")
            if r.status_code == 200 and r.json().get("outcome") == outcome and r.json().get("status") != "awaiting_signature":
                case.signed = outcome
                return
        if r.status_code != 200:
            self.errors.append(f"case {case.n}: signing {outcome} answered {r.status_code}: {r.text[:300]}")
            case.signed = f"failed ({r.status_code})"
            return
        case.signed = outcome

    def _all_settled_or_signed(self) -> bool:
        return self.submitted.is_set() and all(c.scenario.signer == "auto" or c.signed for c in self.cases)

    async def payments_back_office(self, stop: asyncio.Event) -> None:
        """The payments database confirms every placed order (what moves a case to `paid`)."""
        while not stop.is_set():
            await asyncio.sleep(1.0)
            orders = (await self.client.sandbox.get("/sandbox/payments")).json()["items"]
            for order in orders:
                if order["status"] == "accepted" and order["decision_id"] not in self.confirmed:
                    r = await self.client.sandbox.post(f"/sandbox/payments/{order['decision_id']}/paid")
                    if r.status_code == 200:
                        self.confirmed.add(order["decision_id"])

    async def poll_statuses(self) -> None:
        """Progress from intake's table (cheap); each case that is terminal there is read once through the API (as ops)."""
        conn = await asyncpg.connect(to_asyncpg_dsn(self.database_url))
        try:
            rows = await conn.fetch("SELECT id::text AS id, status FROM intake.applications")
        finally:
            await conn.close()
        status = {r["id"]: r["status"] for r in rows}
        open_cases = [
            c for c in self.cases
            if c.app_id and status.get(c.app_id) in TERMINAL and (c.final is None or c.final["status"] not in TERMINAL)
        ]
        for case in self.cases:
            if case.app_id and case.final is None and status.get(case.app_id) not in TERMINAL:
                case.db_status = status.get(case.app_id)
        gate = asyncio.Semaphore(4)

        async def one(case: Case) -> None:
            async with gate:
                r = await self.client.call("GET", f"/api/v1/applications/{case.app_id}", role="ops", sub="ops-chaos")
                if r.status_code == 200:
                    case.final = r.json()

        await asyncio.gather(*(one(c) for c in open_cases))

    # ---- the chaos

    async def killer(self) -> None:
        for kill in self.kills:
            await asyncio.sleep(kill.gap_s)
            if kill.target in ("gateway", "intake") and not self.submitted.is_set():
                # Aim at a filing in flight (up to 3 s more), so that a lost answer is retried with its key.
                until = time.monotonic() + 3.0
                while self.filings_in_flight == 0 and time.monotonic() < until and not self.submitted.is_set():
                    await asyncio.sleep(0.01)
            kill.filings_in_flight = self.filings_in_flight
            kill.at_s = self.elapsed()
            kill.exit_status = await asyncio.to_thread(self.stack.kill, kill.target)
            self.log(f"SIGKILL {kill.target} (status {kill.exit_status}, {kill.filings_in_flight} filings in flight); "
                     f"down for {kill.down_s:.1f} s")
            await asyncio.sleep(kill.down_s)
            started = time.monotonic()
            for attempt in (1, 2):
                try:
                    await asyncio.to_thread(self.stack.start_process, kill.target)
                except Exception as exc:  # noqa: BLE001 - reported as a broken invariant
                    kill.error = f"{type(exc).__name__}: {str(exc)[:2000]}"
                    self.errors.append(f"{kill.target} did not come back (start {attempt}): {kill.error}")
                    self.log(f"{kill.target} did not come back healthy: {kill.error[:300]}")
                    continue
                kill.restart_s = round(time.monotonic() - started, 2)
                self.log(f"{kill.target} healthy again after {kill.restart_s:.1f} s")
                break
        self.killing_done = True
        self.log(f"all {len(self.kills)} kills done")

    # ---- settling

    async def settle(self) -> float:
        """Until every case is final, every service's outbox is empty and the sandbox's records stay unchanged."""
        started = time.monotonic()
        deadline = started + self.config.settle_timeout_s
        last: tuple[int, int, int, int] | None = None
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            await self.poll_statuses()
            finals = sum(1 for c in self.cases if c.final and c.final["status"] in TERMINAL)
            backlog = await self.outbox_backlog()
            records = await self.sandbox_counts()
            if records != last:
                last, quiet_since = records, time.monotonic()
            if finals == len(self.cases) and backlog == 0 and time.monotonic() - quiet_since >= self.config.quiet_s:
                return round(time.monotonic() - started, 1)
            await asyncio.sleep(1.0)
        statuses = Counter(c.final["status"] if c.final else c.db_status or "unknown" for c in self.cases)
        self.log(f"not settled after {self.config.settle_timeout_s:.0f} s: {dict(statuses)}")
        return round(time.monotonic() - started, 1)

    async def outbox_backlog(self) -> int:
        total = 0
        async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
            for name in SERVICES:
                try:
                    text = (await http.get(self.stack.url(name) + "/metrics")).text
                except httpx.HTTPError:
                    return -1
                found = re.search(r"^emaket_outbox_backlog\{[^}]*\} (\S+)$", text, re.M)
                total += int(float(found.group(1))) if found else 0
        return total

    async def sandbox_counts(self) -> tuple[int, int, int, int]:
        payments = (await self.client.sandbox.get("/sandbox/payments")).json()["items"]
        sms = (await self.client.sandbox.get("/sandbox/sms")).json()["items"]
        cabinet = (await self.client.sandbox.get("/sandbox/cabinet")).json()["items"]
        return len(payments), sum(1 for p in payments if p["status"] == "paid"), len(sms), len(cabinet)

    async def main(self) -> dict[str, Any]:
        self.log(f"seed {self.config.seed}: {len(self.cases)} cases, {len(self.kills)} kills: "
                 + ", ".join(k.target for k in self.kills))
        await self.set_faults()
        stop = asyncio.Event()
        back_office = asyncio.create_task(self.payments_back_office(stop))
        specialist = asyncio.create_task(self.specialist())
        try:
            submit = asyncio.create_task(self.submit_all())
            await asyncio.sleep(0.5)
            await asyncio.gather(submit, self.killer())
            self.log("chaos over; waiting for the system to settle")
            settle_s = await self.settle()
            specialist.cancel()
        finally:
            stop.set()
            for task in (back_office, specialist):
                task.cancel()
            await asyncio.gather(back_office, specialist, return_exceptions=True)
        fault_calls = (await self.client.sandbox.get("/sandbox/calls")).json()["items"]
        await self.client.sandbox.delete("/sandbox/faults")
        report = await check(self, settle_s, fault_calls)
        await self.client.aclose()
        return report


# --------------------------------------------------------------------------
# the invariants
# --------------------------------------------------------------------------


def _history_ok(app: dict[str, Any]) -> bool:
    statuses = [h["status"] for h in app.get("history", [])]
    if not statuses or statuses[0] != "received" or statuses[-1] != app["status"]:
        return False
    return all(ApplicationStatus(b) in TRANSITIONS[ApplicationStatus(a)] for a, b in zip(statuses, statuses[1:]))


async def _ops_list(run: Run, service: str, what: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        params: dict[str, Any] = {"limit": 200} | ({"after_id": after} if what == "dead-letters" else {})
        r = await run.client.call("GET", f"/api/v1/ops/{service}/{what}", role="ops", sub="ops-chaos", params=params)
        r.raise_for_status()
        body = r.json()
        items += body["items"]
        if not body.get("next_after_id"):
            return items
        after = body["next_after_id"]


async def check(run: Run, settle_s: float, calls: list[dict[str, Any]]) -> dict[str, Any]:
    cases = run.cases
    sandbox = run.client.sandbox
    payments = (await sandbox.get("/sandbox/payments")).json()["items"]
    sms = (await sandbox.get("/sandbox/sms")).json()["items"]
    cabinet = (await sandbox.get("/sandbox/cabinet")).json()["items"]
    ours = {c.app_id for c in cases if c.app_id}
    phone_to_app = {c.phone: c.app_id for c in cases if c.phone and c.app_id}

    dead_letters = {s: await _ops_list(run, s, "dead-letters") for s in SERVICES}
    failed_jobs = {s: await _ops_list(run, s, "failed-jobs") for s in SERVICES}
    quarantined = {s: await _ops_list(run, s, "outbox/quarantined") for s in SERVICES}
    r = await run.client.call("GET", "/api/v1/ops/payment_queue/held-decisions", role="ops", sub="ops-chaos",
                              params={"status": "held", "limit": 500})
    r.raise_for_status()
    held = r.json()["items"]

    conn = await asyncpg.connect(to_asyncpg_dsn(run.database_url))
    try:
        stored = await conn.fetchval("SELECT count(*) FROM intake.applications")
        db_orders = await conn.fetchval("SELECT count(*) FROM payment_queue.payment_orders")
        db_decisions = await conn.fetchval("SELECT count(*) FROM decision.decisions")
    finally:
        await conn.close()

    orders_by_app: dict[str, list[dict[str, Any]]] = defaultdict(list)
    orders_by_decision: Counter[str] = Counter()
    for order in payments:
        orders_by_app[order["application_id"]].append(order)
        orders_by_decision[order["decision_id"]] += 1

    messages: Counter[tuple[str, str]] = Counter()
    unmatched_messages = 0
    for m in sms:
        app_id = phone_to_app.get(m["phone"])
        if app_id is None:
            unmatched_messages += 1
        else:
            messages[(app_id, m["kind"])] += 1
    for m in cabinet:
        if m["application_id"] in ours:
            messages[(m["application_id"], m["kind"])] += 1
        else:
            unmatched_messages += 1

    final = [c for c in cases if c.final and c.final["status"] in TERMINAL]
    not_final = [c for c in cases if c not in final]
    wrong_outcome = [c for c in final if c.final and c.final["status"] != c.scenario.expect]
    bad_history = [c for c in cases if c.final and not _history_ok(c.final)]
    assigned = [c for c in cases if c.final and c.final.get("decision") and c.final["decision"].get("outcome") == "assign"
                and c.final["decision"].get("signed_at")]
    not_assigned = [c for c in cases if c.final and c.final["status"] in ("refused", "rejected")]
    order_count_wrong = [c for c in assigned if len(orders_by_app.get(c.app_id or "", [])) != 1]
    order_mismatch = [
        c for c in assigned
        if len(orders_by_app.get(c.app_id or "", [])) == 1 and c.final
        and (orders_by_app[c.app_id or ""][0]["decision_id"] != c.final["decision"]["id"]
             or orders_by_app[c.app_id or ""][0]["amount_kzt"] != c.final["decision"]["amount_kzt"])
    ]
    paid_for_refused = [c for c in not_assigned if orders_by_app.get(c.app_id or "")]
    foreign_orders = [o for o in payments if o["application_id"] not in ours]
    duplicates = {f"{app}:{kind}": n for (app, kind), n in messages.items() if n > 1}
    missing_result = []
    for c in final:
        wanted = "rejected" if c.scenario.expect == "rejected" else "result"
        if messages.get((c.app_id or "", wanted), 0) != 1:
            missing_result.append(c)
    open_dead = {s: items for s, items in dead_letters.items() if items}
    open_failed = {s: items for s, items in failed_jobs.items() if items}
    open_quarantine = {s: items for s, items in quarantined.items() if items}
    killed = {k.target for k in run.kills if k.exit_status is not None}
    died = run.stack.exited()  # processes that exited on their own, not killed by this tool

    def ids(cs: list[Case]) -> list[str]:
        return [f"#{c.n} {c.scenario.name} {c.app_id} {c.final['status'] if c.final else c.db_status or 'unknown'}"
                for c in cs]

    invariants = [
        {"name": "every case filed (the same Idempotency-Key on every retry)",
         "figure": f"{len(ours)} of {len(cases)} filed; {stored} applications stored",
         "holds": len(ours) == len(cases) and stored == len(cases), "offenders": [str(c.n) for c in cases if not c.app_id]},
        {"name": "every case final (rejected / refused / paid)",
         "figure": f"{len(final)} of {len(cases)} final", "holds": not not_final, "offenders": ids(not_final)},
        {"name": "every case ended as planned", "figure": f"{len(final) - len(wrong_outcome)} of {len(final)} as planned",
         "holds": not wrong_outcome and not not_final, "offenders": ids(wrong_outcome)},
        {"name": "history follows the state machine", "figure": f"{len(cases) - len(bad_history)} of {len(cases)}",
         "holds": not bad_history, "offenders": ids(bad_history)},
        {"name": "exactly one payment order per assigned decision",
         "figure": f"{len(payments)} orders for {len(assigned)} assigned decisions; "
                   f"{len(order_count_wrong)} with none or several; {db_orders} rows in payment_queue",
         "holds": not order_count_wrong and not foreign_orders and db_orders == len(assigned)
                  and all(n == 1 for n in orders_by_decision.values()),
         "offenders": ids(order_count_wrong) + [f"order {o['order_id']} for unknown application" for o in foreign_orders]},
        {"name": "each order is its decision's (id, amount)", "figure": f"{len(order_mismatch)} mismatched",
         "holds": not order_mismatch, "offenders": ids(order_mismatch)},
        {"name": "no payment order for a refused or rejected case",
         "figure": f"{len(paid_for_refused)} of {len(not_assigned)} have one",
         "holds": not paid_for_refused, "offenders": ids(paid_for_refused)},
        {"name": "one decision at most per application", "figure": f"{db_decisions} decisions for {len(cases)} cases",
         "holds": db_decisions <= len(cases), "offenders": []},
        {"name": "no duplicate message (per application and kind)",
         "figure": f"{len(duplicates)} duplicated of {len(messages)} (application, kind) pairs; "
                   f"{len(sms)} SMS, {len(cabinet)} cabinet messages",
         "holds": not duplicates and not unmatched_messages, "offenders": sorted(duplicates)},
        {"name": "one result (or rejection) message per final case",
         "figure": f"{len(final) - len(missing_result)} of {len(final)}", "holds": not missing_result,
         "offenders": ids(missing_result)},
        {"name": "dead letters empty (each listed below)",
         "figure": ", ".join(f"{s} {len(v)}" for s, v in dead_letters.items()), "holds": not open_dead,
         "offenders": [f"{s}#{d['id']} {d['consumer']} {d['topic']}: {d['error'][:200]}" for s, v in open_dead.items() for d in v]},
        {"name": "no failed jobs", "figure": ", ".join(f"{s} {len(v)}" for s, v in failed_jobs.items()),
         "holds": not open_failed,
         "offenders": [f"{s}: {json.dumps(j, default=str)[:300]}" for s, v in open_failed.items() for j in v]},
        {"name": "no quarantined outbox rows", "figure": ", ".join(f"{s} {len(v)}" for s, v in quarantined.items()),
         "holds": not open_quarantine,
         "offenders": [f"{s}: {q.get('type')} {q.get('error', '')[:200]}" for s, v in open_quarantine.items() for q in v]},
        {"name": "no held decisions", "figure": f"{len(held)} held", "holds": not held,
         "offenders": [f"{h['decision_id']} {h['reason']}: {h['detail'][:200]}" for h in held]},
        {"name": "every service and the gateway killed at least once",
         "figure": f"{len(killed)} of {len(TARGETS)} processes killed"
                   + ("" if len(run.kills) >= len(TARGETS) else f" (only {len(run.kills)} kills asked: not checked)"),
         "holds": len(run.kills) < len(TARGETS) or killed == set(TARGETS),
         "offenders": sorted(set(TARGETS) - killed) if len(run.kills) >= len(TARGETS) else []},
        {"name": "every process came back after each kill",
         "figure": f"{sum(1 for k in run.kills if k.restart_s is not None)} of {len(run.kills)} restarts healthy; "
                   f"{len(died)} processes exited on their own",
         "holds": all(k.restart_s is not None for k in run.kills) and not run.errors and not died,
         "offenders": run.errors + [f"{name} exited with status {code}" for name, code in died.items()]},
    ]

    injected: Counter[str] = Counter()
    for c in calls:
        if c.get("fault"):
            injected[f"{c['system']} {c['fault']}"] += 1
    call_counts = Counter(c["system"] for c in calls)
    statuses = Counter(c.final["status"] if c.final else "unknown" for c in cases)
    return {
        "seed": run.config.seed,
        "config": asdict(run.config),
        "cases": {
            "total": len(cases),
            "by_scenario": dict(Counter(c.scenario.name for c in cases)),
            "by_benefit": dict(Counter(c.scenario.benefit for c in cases)),
            "automatic": sum(1 for c in cases if c.scenario.signer == "auto"),
            "specialist_signed": sum(1 for c in cases if c.scenario.signer != "auto"),
            "final_statuses": dict(statuses),
            "replayed_filings": sum(1 for c in cases if c.replayed),
            "list": [{"n": c.n, "scenario": c.scenario.name, "application_id": c.app_id,
                      "status": c.final["status"] if c.final else None} for c in cases],
        },
        "kills": [asdict(k) for k in run.kills],
        "kills_by_target": dict(Counter(k.target for k in run.kills)),
        "faults_injected": dict(injected),
        "external_calls": dict(call_counts),
        "client_retries": dict(run.client.retries),
        "client_retries_total": sum(run.client.retries.values()),
        "payment_orders": len(payments),
        "sms": len(sms),
        "cabinet_messages": len(cabinet),
        "settle_s": settle_s,
        "dead_letters": dead_letters,
        "failed_jobs": failed_jobs,
        "quarantined": quarantined,
        "held_decisions": held,
        "invariants": invariants,
        "ok": all(i["holds"] for i in invariants),
    }


async def run_chaos(stack: Stack, database_url: str, config: ChaosConfig) -> dict[str, Any]:
    """The core: faults on, the load and the kills, settling, the invariants. Returns the report (``ok``)."""
    started = time.monotonic()
    report = await Run(stack, database_url, config).main()
    report["wall_s"] = round(time.monotonic() - started, 1)
    return report


# --------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------


def format_report(report: dict[str, Any]) -> str:
    c = report["cases"]
    lines = [
        "",
        f"Chaos run, seed {report['seed']}: {c['total']} cases ("
        + ", ".join(f"{b} {n}" for b, n in sorted(c["by_benefit"].items()))
        + f"; {c['automatic']} automatic, {c['specialist_signed']} signed by a specialist), {len(report['kills'])} SIGKILLs",
        "  kills by process:   " + ", ".join(f"{t} {n}" for t, n in sorted(report["kills_by_target"].items())),
    ]
    restarts = [k["restart_s"] for k in report["kills"] if k["restart_s"] is not None]
    downs = [k["down_s"] for k in report["kills"]]
    if restarts:
        lines.append(f"  down before restart {min(downs):.1f}-{max(downs):.1f} s; restart to healthy "
                     f"{min(restarts):.1f}-{max(restarts):.1f} s (mean {sum(restarts) / len(restarts):.1f} s)")
    lines += [
        "  faults injected:    " + (", ".join(f"{k} {v}" for k, v in sorted(report["faults_injected"].items())) or "none")
        + "  (of " + ", ".join(f"{k} {v}" for k, v in sorted(report["external_calls"].items())) + " calls)",
        f"  client retries:     {report['client_retries_total']} (filings answered as replays: {c['replayed_filings']}; "
        f"kills with filings in flight: {sum(1 for k in report['kills'] if k['filings_in_flight'])})",
        "  final statuses:     " + ", ".join(f"{k} {v}" for k, v in sorted(c["final_statuses"].items())),
        f"  sent:               {report['payment_orders']} payment orders, {report['sms']} SMS, {report['cabinet_messages']} cabinet messages",
        f"  settled in {report['settle_s']:.1f} s after the last kill; whole run {report.get('wall_s', 0):.1f} s",
        "",
        f"  {'invariant':<60} {'holds':<6} figure",
    ]
    for inv in report["invariants"]:
        lines.append(f"  {inv['name']:<60} {'yes' if inv['holds'] else 'NO':<6} {inv['figure']}")
        for offender in inv["offenders"][:20]:
            lines.append(f"      - {offender}")
    for title, key in (("dead letters", "dead_letters"), ("failed jobs", "failed_jobs")):
        listed = [(s, item) for s, items in report[key].items() for item in items]
        lines.append(f"  {title}: " + ("none" if not listed else ""))
        for service, item in listed:
            lines.append(f"      {service}: {json.dumps(item, default=str, ensure_ascii=False)[:400]}")
    lines.append("")
    lines.append("ALL INVARIANTS HOLD" if report["ok"] else "SOME INVARIANTS DO NOT HOLD")
    return "\n".join(lines)


def machine() -> str:
    return f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    from tools.mock_kafka import start_mock_kafka, stop_mock_kafka
    from tools.pg import LOCAL_ADMIN_URL, create_database, drop_database, embedded_server, local_server_available, with_database
    from tools.stack import PROCESSES, free_ports

    parser = argparse.ArgumentParser(prog="python -m tools.chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=60, help="cases to file (default 60)")
    parser.add_argument("--kills", type=int, default=12, help="SIGKILLs (default 12; at least 6 kills every process once)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--settle-timeout", type=float, default=240.0, help="seconds to wait for the system to settle")
    parser.add_argument("--no-faults", action="store_true", help="no sandbox faults (kills only)")
    parser.add_argument("--faults", default=None, metavar="JSON",
                        help='per-system overrides of the fault model, e.g. \'{"payments": {"timeout_rate": 0.02}}\' '
                             "(systems egov, payments, sms, cabinet; fields error_rate, timeout_rate, latency_ms)")
    parser.add_argument("--json", default=None, help="report file (default bench/chaos/<timestamp>.json)")
    parser.add_argument("--no-json", action="store_true")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs even when every invariant holds")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    if args.cases < 1 or args.kills < 0:
        parser.error("--cases must be at least 1 and --kills at least 0")

    config = ChaosConfig(cases=args.cases, kills=args.kills, seed=args.seed, settle_timeout_s=args.settle_timeout,
                         verbose=not args.quiet)
    if args.no_faults:
        config.faults = {}
    if args.faults:
        try:
            overrides = json.loads(args.faults)
            for system, fields in overrides.items():
                if system not in DEFAULT_FAULTS or not isinstance(fields, dict):
                    raise ValueError(f"unknown system {system!r}")
                config.faults.setdefault(system, {}).update(fields)
        except ValueError as exc:
            parser.error(f"--faults: {exc}")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    data_dir = Path(tempfile.mkdtemp(prefix=f"emaket-chaos-{stamp}-"))

    stop_pg = None
    if local_server_available():
        admin = LOCAL_ADMIN_URL
    else:
        admin, stop_pg = embedded_server(data_dir / "pg")
    name = f"emaket_chaos_{uuid.uuid4().hex[:8]}"
    create_database(admin, name)
    database_url = with_database(admin, name)
    kafka, bootstrap = start_mock_kafka()
    names = [n for n, _ in PROCESSES]
    stack = Stack(database_url, bootstrap, ports=dict(zip(names, free_ports(len(names)))), data_dir=data_dir,
                  extra_env={"LOG_LEVEL": "WARNING", **FAST_RECOVERY})
    report: dict[str, Any] | None = None
    try:
        started = time.monotonic()
        stack.start()
        print(f"stack started in {time.monotonic() - started:.1f} s (database: "
              f"{'local server' if stop_pg is None else 'embedded'}; logs in {stack.log_dir})", file=sys.stderr)
        report = asyncio.run(run_chaos(stack, database_url, config))
    except Exception as exc:  # noqa: BLE001 - the run itself broke: say so, exit 1
        print(f"chaos run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        stack.stop()
        stop_mock_kafka(kafka)
        drop_database(admin, name)
        if stop_pg:
            stop_pg()

    if report is None:
        print(f"logs kept in {stack.log_dir}", file=sys.stderr)
        return 1
    report["when"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    report["machine"] = machine()
    # Where the logs are only when they are kept: a temporary path of this machine means nothing elsewhere.
    report["logs"] = str(stack.log_dir) if (not report["ok"] or args.keep_logs) else "removed after a clean run"
    print(format_report(report))
    if not args.no_json:
        out = Path(args.json) if args.json else PROJECT_ROOT / "bench" / "chaos" / f"{stamp}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, default=str, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"report: {out}")
    if report["ok"] and not args.keep_logs:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)
    else:
        print(f"logs: {stack.log_dir}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
