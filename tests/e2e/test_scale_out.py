"""Scale-out, proven: two replicas of every consumer service share their groups' partitions on a broker
that holds multi-member groups (Tansu, tools/tansu.py), one replica of each is SIGKILLed mid-run, and
nothing is lost or doubled.

The shared ``stack`` fixture runs on librdkafka's mock cluster, which fails SyncGroup for a second
member; this test starts its own stack on Tansu with its own database and free ports. Tansu does not
answer InitProducerId, so the producers run without idempotence (KAFKA_IDEMPOTENCE=false): a retried
send may deliver an event twice, and the inboxes deduplicate it.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections import Counter

import asyncpg
import httpx
import pytest

from tests.e2e.conftest import FAST_RECOVERY, Api, burial_body, new_iin, new_phone, seed_deceased
from tools.pg import to_asyncpg_dsn
from tools.stack import PROCESSES, Stack, free_ports
from tools.tansu import start_tansu, stop_tansu

pytestmark = pytest.mark.e2e

CONSUMERS = ("intake", "eligibility", "decision", "payment_queue", "notifier")
REPLICAS = 2
CASES = 40
FIRST_WAVE = 20  # filed before the kill; the rest are filed while the replicas die
KILL_AFTER = 5  # cases of the second wave filed when one replica of each service is killed
SCHEMAS = CONSUMERS
# A killed member holds its partitions until the session times out: short, so the rebalance is quick.
SCALE_ENV = FAST_RECOVERY | {
    "LOG_LEVEL": "INFO",
    "KAFKA_IDEMPOTENCE": "false",
    "KAFKA_SESSION_TIMEOUT_MS": "6000",
    "KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
}
HANDLED = re.compile(r'^emaket_events_handled_total\{service="[a-z_]+"\} (\d+(?:\.\d+)?)$', re.M)


@pytest.fixture
def tansu(tmp_path):
    with open(tmp_path / "tansu.log", "wb") as log:
        proc, bootstrap = start_tansu(output=log)  # the services' topics, 4 partitions each
        try:
            yield bootstrap
        finally:
            stop_tansu(proc)


@pytest.fixture
def scaled_stack(tansu, fresh_database, tmp_path):
    replicas = {name: REPLICAS for name in CONSUMERS}
    names = [name for name, _ in PROCESSES]
    stack = Stack(fresh_database(), tansu, ports=dict(zip(names, free_ports(len(names)))), data_dir=tmp_path / "stack",
                  extra_env=SCALE_ENV, replicas=replicas, health_timeout=240)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


async def handled(http: httpx.AsyncClient, stack: Stack, name: str) -> int:
    r = await http.get(stack.url(name) + "/metrics")
    r.raise_for_status()
    return int(float(HANDLED.search(r.text).group(1)))


async def handled_by_replica(http: httpx.AsyncClient, stack: Stack, names: list[str]) -> dict[str, int]:
    return {n: await handled(http, stack, n) for n in names}


async def groups(bootstrap: str) -> dict[str, tuple[str, int]]:
    """group -> (state, members), from the broker (DescribeGroups through aiokafka's admin client).

    One group per request: Tansu 0.6.0 answers only the first group of a DescribeGroups naming several
    (the others come back blank). Its member entries carry no assignment (empty bytes), and the services
    log aiokafka at WARNING only, so which partitions a replica holds is not visible from outside: the split
    is shown by the members per group and the events each replica handled."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        found = {}
        for group in CONSUMERS:
            for response in await admin.describe_consumer_groups([group]):
                for _error, name, state, _ptype, _protocol, members in response.groups:
                    found[name] = (state, len(members))
        return found
    finally:
        await admin.close()


async def wait_groups(bootstrap: str, members: int, timeout: float) -> dict[str, tuple[str, int]]:
    deadline = time.monotonic() + timeout
    while True:
        seen = await groups(bootstrap)
        if all(seen.get(g) == ("Stable", members) for g in CONSUMERS) or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.5)


async def wait_healthy(http: httpx.AsyncClient, stack: Stack, names: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending:
        for name in list(pending):
            try:
                if (await http.get(stack.url(name) + "/healthz")).status_code == 200:
                    pending.discard(name)
            except httpx.HTTPError:
                pass
        assert time.monotonic() < deadline, f"not healthy after {timeout} s: {pending}"
        await asyncio.sleep(0.3)


async def statuses(dsn: str, ids: list[str]) -> Counter:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT status FROM intake.applications WHERE id = ANY($1::uuid[])", ids)
    finally:
        await conn.close()
    return Counter(r["status"] for r in rows)


async def file_case(api: Api) -> tuple[str, str]:
    deceased, fixtures = seed_deceased(died="2026-10-12")
    await api.seed(**fixtures)
    phone = new_phone()
    r = await api.submit(burial_body(channel="proactive", applicant_iin=new_iin(), deceased_iin=deceased, phone=phone), role="mobile")
    assert r.status_code == 202, r.text
    return r.json()["id"], phone


async def test_two_replicas_of_every_consumer_share_the_work_and_a_kill_loses_and_doubles_nothing(scaled_stack, tansu):
    stack = scaled_stack
    dsn = to_asyncpg_dsn(stack.database_url)
    api = Api(stack, dsn)
    http = httpx.AsyncClient(timeout=10, trust_env=False)
    try:
        # Both replicas of every service are members of its group.
        seen = await wait_groups(tansu, REPLICAS, timeout=60)
        print(f"\ngroups on Tansu before filing: {seen}")
        assert all(seen.get(g) == ("Stable", REPLICAS) for g in CONSUMERS), seen

        cases: list[tuple[str, str]] = []
        for _ in range(FIRST_WAVE):
            cases.append(await file_case(api))

        # The work is split: every replica handles events of its own partitions.
        names = [n for s in CONSUMERS for n in stack.replicas(s)]
        deadline = time.monotonic() + 120
        while True:
            before_kill = await handled_by_replica(http, stack, names)
            if all(before_kill.values()) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        print(f"split of the first {FIRST_WAVE} cases (events handled per replica):")
        for n in names:
            print(f"  {n:16} {before_kill[n]:4}")
        assert all(before_kill.values()), f"a replica handled nothing: {before_kill}"

        # Mid-run: file the second wave, a few at a time, and SIGKILL one replica of every service while
        # cases are in flight; the rest are filed while their partitions wait for the rebalance.
        victims = [stack.replicas(s)[1] for s in CONSUMERS]
        enough = asyncio.Event()
        gate = asyncio.Semaphore(8)

        async def file_one() -> None:
            try:
                async with gate:
                    cases.append(await file_case(api))
            except BaseException:
                enough.set()  # the error comes out of the gather below
                raise
            if len(cases) >= FIRST_WAVE + KILL_AFTER:
                enough.set()

        filing = [asyncio.create_task(file_one()) for _ in range(CASES - FIRST_WAVE)]
        await enough.wait()
        victims_last = dict(zip(victims, await asyncio.gather(*(handled(http, stack, v) for v in victims))))
        filed_at_kill = [c for c, _ in cases]
        for victim in victims:
            assert stack.kill(victim) == -signal.SIGKILL
        # Not yet payment_queued right after the kill: in flight at the kill (filed, or mid-pipeline).
        at_kill = await statuses(dsn, filed_at_kill)
        print(f"killed {', '.join(victims)} with {len(filed_at_kill)} cases filed; right after: {dict(at_kill)}")
        await asyncio.gather(*filing)
        assert len(filed_at_kill) < CASES, "the kill came after the last case was filed"
        print(f"in flight at the kill: {len(filed_at_kill) - at_kill['payment_queued']} filed + {CASES - len(filed_at_kill)} filed after it")

        # Everything reaches the end on the survivors, after the rebalance.
        ids = [c for c, _ in cases]
        deadline = time.monotonic() + 240
        while (done := await statuses(dsn, ids))["payment_queued"] < CASES and time.monotonic() < deadline:
            await asyncio.sleep(1.0)
        assert done == Counter({"payment_queued": CASES}), done
        after = await wait_groups(tansu, REPLICAS - 1, timeout=30)
        print(f"groups on Tansu after the kill: {after}")
        survivors = [stack.replicas(s)[0] for s in CONSUMERS]
        final = await handled_by_replica(http, stack, survivors)
        print("events handled by the survivors, before the kill -> at the end:")
        for n in survivors:
            print(f"  {n:16} {before_kill[n]:4} -> {final[n]:4}")
        assert all(after.get(g) == ("Stable", REPLICAS - 1) for g in CONSUMERS), after
        assert all(final[n] > before_kill[n] for n in survivors), (before_kill, final)

        # The killed replicas come back and rejoin; they start at the offsets their groups committed, so
        # with all the work done they have nothing to handle (a broker that lost the commits would hand
        # them their partitions from the beginning again).
        for victim in victims:
            stack.start_process(victim, wait=False)
        await wait_healthy(http, stack, victims, timeout=120)
        rejoined = await wait_groups(tansu, REPLICAS, timeout=60)
        print(f"groups on Tansu after the killed replicas restarted: {rejoined}")
        assert all(rejoined.get(g) == ("Stable", REPLICAS) for g in CONSUMERS), rejoined
        await asyncio.sleep(3.0)
        again = await handled_by_replica(http, stack, victims)
        print(f"events handled by the restarted replicas: {again}")
        assert again == {v: 0 for v in victims}, "a rejoined replica re-read committed events"

        # Nothing lost, nothing doubled.
        await asyncio.sleep(2.0)  # anything sent twice shows up by now
        for app_id in ids:
            app = await api.get(app_id)
            assert [h["status"] for h in app["history"]] == ["received", "registered", "assigned", "payment_queued"], app
        payments = Counter(p["application_id"] for p in await api.payments_for(set(ids)))
        assert payments == Counter({i: 1 for i in ids}), "one payment order per case"
        phones = {phone for _, phone in cases}
        sms = [m for m in (await api.sandbox.get("/sandbox/sms")).json()["items"] if m["phone"] in phones]
        kinds: dict[str, list[str]] = {phone: [] for phone in phones}
        for m in sms:
            kinds[m["phone"]].append(m["kind"])
        assert {p: sorted(k) for p, k in kinds.items()} == {p: ["accepted", "receipt", "result"] for p in phones}
        assert sum(1 for m in sms if m["kind"] == "result") == CASES

        conn = await asyncpg.connect(dsn)
        try:
            dead = {s: await conn.fetchval(f"SELECT count(*) FROM {s}.dead_letters") for s in SCHEMAS}
            decisions = await conn.fetch(
                "SELECT application_id, count(*) AS n FROM decision.decisions WHERE application_id = ANY($1::uuid[]) GROUP BY 1", ids)
            orders = await conn.fetch(
                "SELECT application_id, count(*) AS n FROM payment_queue.payment_orders WHERE application_id = ANY($1::uuid[]) GROUP BY 1", ids)
            notes = await conn.fetch(
                "SELECT application_id, kind, channel, count(*) AS n FROM notifier.notifications "
                "WHERE application_id = ANY($1::uuid[]) GROUP BY 1, 2, 3 HAVING count(*) > 1", ids)
            held = await conn.fetchval("SELECT count(*) FROM payment_queue.held_decisions")
            inbox = {s: await conn.fetchval(f"SELECT count(*) FROM {s}.inbox") for s in SCHEMAS}
        finally:
            await conn.close()
        print(f"dead letters: {dead}; held decisions: {held}")
        # Deliveries the replicas counted (the victims' last scrape, so at least this many) against the events
        # the inbox recorded once: the difference was delivered again (a kill, a retried send) and skipped.
        print("deliveries counted (at least) / distinct events in the inbox, per group:")
        for service in CONSUMERS:
            counted = final[service] + victims_last[stack.replicas(service)[1]]
            print(f"  {service:16} {counted:4} / {inbox[service]:4}")
        assert dead == {s: 0 for s in SCHEMAS}
        assert held == 0
        assert len(decisions) == CASES and {r["n"] for r in decisions} == {1}
        assert len(orders) == CASES and {r["n"] for r in orders} == {1}
        assert notes == []
        assert not stack.exited(), stack.exited()
    finally:
        await http.aclose()
        await api.aclose()
