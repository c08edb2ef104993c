"""Wake, don't poll (common/wake.py), on a real PostgreSQL and the Kafka-protocol mock cluster.

Every relay and worker here has a safety poll of 600 s, so anything that happens within seconds
happened because a commit woke it: in process (the session hook) or through NOTIFY from another
connection (the triggers of each service's migrations, the listener). Speed is not asserted:
the margins are two orders of magnitude.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import pytest
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from common.db import make_engine, make_session_factory
from common.jobs import claim_due, run_periodic
from common.outbox import add_event
from common.relay import OutboxRelay
from common.wake import Listener, Wakes, asyncpg_dsn
from services.eligibility.adapters.orm import Check
from services.intake.adapters.orm import messaging as intake_messaging
from tests.integration.helpers import migrated
from tests.integration.test_messaging import SCHEMA, _event, bus  # noqa: F401 - the fixture

SAFETY_POLL_S = 600.0  # never reached within a test: only a wake-up can make these pass
WITHIN_S = 20.0  # generous: a loaded machine; still 30x below the safety poll


async def _within(predicate, timeout: float = WITHIN_S) -> float:
    started = time.monotonic()
    while not await predicate():
        assert time.monotonic() - started < timeout, "not woken: only the 600 s safety poll would have found it"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def _stop(*tasks: asyncio.Task) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _check_row(**extra) -> dict:
    return {"application_id": uuid.uuid4(), "round": 1, "benefit": "burial", "application": {}, "status": "pending",
            "attempts": 0} | extra


async def test_a_committed_outbox_row_wakes_the_relay_in_process(bus):  # noqa: F811
    """The session hook: add_event marks the transaction, its commit wakes the relay (no trigger in this schema)."""
    wakes = Wakes(SCHEMA)
    sessions = make_session_factory(bus.engine, info=wakes.session_info())
    relay = OutboxRelay(sessions=sessions, tables=bus.tables, producer=bus.producer, service=f"{SCHEMA}-{uuid.uuid4().hex[:6]}",
                        interval_s=SAFETY_POLL_S, wake=wakes.outbox.waiter())
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.5)  # the first pass ran and found nothing: the relay sleeps
        with pytest.raises(RuntimeError):  # a rolled-back transaction wakes nobody and leaves nothing
            async with sessions() as s, s.begin():
                await add_event(s, bus.tables, bus.topic, _event(99))
                raise RuntimeError("rolled back")
        assert wakes.outbox.fired == 0
        async with sessions() as s, s.begin():
            await add_event(s, bus.tables, bus.topic, _event(1))
        await _within(lambda: _published(relay, 1))
    finally:
        await _stop(task)
    assert wakes.outbox.fired == 1
    assert [e["data"]["n"] for e in await bus.read_topic(bus.topic, 1, timeout=10)] == [1]


async def _published(relay: OutboxRelay, n: int) -> bool:
    return relay.published >= n


async def test_an_outbox_row_written_by_another_connection_wakes_the_relay_through_notify(fresh_database, bus):  # noqa: F811
    """The trigger of the service's migration NOTIFYs intake_outbox; the listener wakes this relay.

    The row is inserted by plain asyncpg (as another replica would): no session hook of this process runs."""
    url = fresh_database()
    async with migrated(url, "intake") as sessions:
        wakes = Wakes("intake")
        listener = Listener(url, wakes)
        relay = OutboxRelay(sessions=sessions, tables=intake_messaging, producer=bus.producer, service="intake",
                            interval_s=SAFETY_POLL_S, wake=wakes.outbox.waiter())
        tasks = [asyncio.create_task(listener.run()), asyncio.create_task(relay.run())]
        try:
            await asyncio.wait_for(listener.connected.wait(), 20)
            await asyncio.sleep(0.5)  # the passes the connection's own wake-up caused are over
            event = _event(7)
            other = await asyncpg.connect(asyncpg_dsn(url))
            try:
                await other.execute(
                    "INSERT INTO intake.outbox (event_id, topic, key, envelope) VALUES ($1, $2, $3, $4::jsonb)",
                    event.id, bus.topic, event.subject, event.model_dump_json(),
                )
            finally:
                await other.close()
            await _within(lambda: _published(relay, 1))
            assert listener.notices >= 1
        finally:
            await _stop(*tasks)
    assert [e["data"]["n"] for e in await bus.read_topic(bus.topic, 1, timeout=10)] == [7]


async def test_a_job_written_elsewhere_wakes_a_worker_and_one_due_later_is_claimed_when_due(fresh_database):
    """eligibility.checks' trigger NOTIFYs eligibility_jobs; an idle worker wakes, and for a job due in
    1.5 s it sleeps until then (not the 600 s safety poll, and not in a tight loop meanwhile)."""
    url = fresh_database()
    async with migrated(url, "eligibility") as sessions:
        wakes = Wakes("eligibility")
        listener = Listener(url, wakes)
        claimed: list[tuple[uuid.UUID, float]] = []
        passes = {"n": 0}

        async def step() -> int:
            passes["n"] += 1
            async with sessions() as session, session.begin():
                check = await claim_due(session, Check)
                if check is None:
                    return 0
                check.status = "done"
                claimed.append((check.application_id, time.monotonic()))
                return 1

        tasks = [asyncio.create_task(listener.run()),
                 asyncio.create_task(run_periodic("test", step, SAFETY_POLL_S, wake=wakes.jobs.waiter()))]
        try:
            await asyncio.wait_for(listener.connected.wait(), 20)
            await asyncio.sleep(0.5)
            other = await asyncpg.connect(asyncpg_dsn(url))
            try:
                now_row = _check_row()
                await other.execute(
                    "INSERT INTO eligibility.checks (application_id, round, benefit, application, status, attempts) "
                    "VALUES ($1, 1, 'burial', '{}'::jsonb, 'pending', 0)", now_row["application_id"],
                )
                await _within(lambda: _claimed(claimed, 1))
                later = uuid.uuid4()
                written = time.monotonic()
                await other.execute(
                    "INSERT INTO eligibility.checks (application_id, round, benefit, application, status, attempts, next_attempt_at) "
                    "VALUES ($1, 1, 'burial', '{}'::jsonb, 'pending', 0, now() + interval '1.5 seconds')", later,
                )
                passes_before = passes["n"]
                await _within(lambda: _claimed(claimed, 2), timeout=1.5 + WITHIN_S)
            finally:
                await other.close()
        finally:
            await _stop(*tasks)
    assert claimed[1][0] == later and claimed[1][1] - written >= 1.3  # not before it was due
    assert passes["n"] - passes_before < 10  # it slept until due: a handful of passes, not a spin


async def _claimed(claimed: list, n: int) -> bool:
    return len(claimed) >= n


async def test_a_job_written_in_this_process_fires_the_jobs_signal_after_commit_only(fresh_database):
    """The in-process path for jobs: an insert (Core) or an ORM change into a claimable status fires after
    commit; a rollback and a job finished (done) fire nothing."""
    url = fresh_database()
    async with migrated(url, "eligibility"):
        engine = make_engine(url, schema="eligibility")
        wakes = Wakes("eligibility", [Check.__table__])
        sessions = make_session_factory(engine, info=wakes.session_info())
        try:
            row = _check_row()
            with pytest.raises(RuntimeError):
                async with sessions() as s, s.begin():
                    await s.execute(pg_insert(Check).values(**row))
                    raise RuntimeError("rolled back")
            assert wakes.jobs.fired == 0
            async with sessions() as s, s.begin():
                await s.execute(pg_insert(Check).values(**row))
            assert wakes.jobs.fired == 1
            async with sessions() as s, s.begin():
                check = await s.scalar(select(Check))
                check.status = "done"
            assert wakes.jobs.fired == 1  # a finished job is no work for anyone
            async with sessions() as s, s.begin():
                await s.execute(update(Check).values(status="pending"))  # e.g. ops retrying a failed job
            assert wakes.jobs.fired == 2
        finally:
            await engine.dispose()


async def test_the_listener_reconnects_after_losing_its_connection(fresh_database):
    """A terminated LISTEN connection is replaced, and NOTIFY wakes again."""
    url = fresh_database()
    async with migrated(url, "intake"):
        wakes = Wakes("intake")
        waiter = wakes.outbox.waiter()
        listener = Listener(url, wakes)
        task = asyncio.create_task(listener.run())
        admin = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await asyncio.wait_for(listener.connected.wait(), 20)
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'intake-listen' AND datname = current_database()"
            )
            assert killed == 1
            await _within(lambda: _disconnected(listener), timeout=20)
            await _within(lambda: _reconnected(listener, admin), timeout=20)
            await asyncio.sleep(0.2)
            waiter.clear()  # the reconnection's own wake-up (what it may have missed) is not what is tested
            await admin.execute("NOTIFY intake_outbox")
            await asyncio.wait_for(waiter.wait(None), WITHIN_S)
        finally:
            await admin.close()
            await _stop(task)


async def _disconnected(listener: Listener) -> bool:
    return not listener.connected.is_set()


async def _reconnected(listener: Listener, admin: asyncpg.Connection) -> bool:
    return listener.connected.is_set() and bool(
        await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'intake-listen' AND datname = current_database()")
    )
