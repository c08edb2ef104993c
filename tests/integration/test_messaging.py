"""The messaging backbone on a real PostgreSQL and the Kafka-protocol mock cluster
(architecture.md guarantees 1 and 3): outbox relay, inbox, retries, dead letters."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import Column, MetaData, Table, Text, func, insert, select, text

from common.consumer import FETCH_MAX_WAIT_MS, ConsumerSpec, EventConsumer, TransientError
from common.db import make_engine, make_session_factory
from common.envelope import make_event
from common.outbox import add_event, messaging_tables
from common.relay import OutboxRelay, make_producer

SCHEMA = "msgtest"


@pytest.fixture
async def bus(fresh_database, kafka_bootstrap):
    """A throwaway schema with the messaging tables and an `effects` table a handler writes to."""
    url = fresh_database()
    metadata = MetaData(schema=SCHEMA)
    tables = messaging_tables(metadata)
    effects = Table("effects", metadata, Column("event_id", Text), Column("note", Text))
    engine = make_engine(url, schema=SCHEMA)
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        # A test-only schema: the services themselves always migrate with Alembic.
        await conn.run_sync(metadata.create_all)
    producer = make_producer(kafka_bootstrap, client_id="msgtest")
    await producer.start()
    try:
        yield _Bus(engine, make_session_factory(engine), tables, effects, producer, kafka_bootstrap)
    finally:
        await producer.stop()
        await engine.dispose()


class _Bus:
    def __init__(self, engine, sessions, tables, effects, producer, bootstrap):
        self.engine, self.sessions, self.tables, self.effects = engine, sessions, tables, effects
        self.producer, self.bootstrap = producer, bootstrap
        self.topic = f"t-{uuid.uuid4().hex[:8]}"

    def relay(self) -> OutboxRelay:
        return OutboxRelay(sessions=self.sessions, tables=self.tables, producer=self.producer, service=SCHEMA, interval_s=0.01)

    def consumer(self, handlers: dict, *, max_attempts: int = 3) -> EventConsumer:
        spec = ConsumerSpec(group=f"g-{uuid.uuid4().hex[:8]}", topics=[self.topic], handlers=handlers)
        return EventConsumer(
            spec=spec, bootstrap=self.bootstrap, sessions=self.sessions, tables=self.tables,
            service=SCHEMA, max_attempts=max_attempts, retry_delay_s=0.01, session_timeout_ms=6000, heartbeat_interval_ms=1000,
        )

    async def count(self, table, *where) -> int:
        async with self.sessions() as s:
            return await s.scalar(select(func.count()).select_from(table).where(*where))

    async def read_topic(self, topic: str, n: int, timeout: float = 20.0) -> list[dict]:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=self.bootstrap, auto_offset_reset="earliest", group_id=None)
        await consumer.start()
        got: list[dict] = []
        try:
            deadline = time.monotonic() + timeout
            while len(got) < n and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=300)
                for messages in batch.values():
                    got += [json.loads(m.value) for m in messages]
        finally:
            await consumer.stop()
        return got


def _event(n: int, subject: str = "case-1"):
    return make_event("thing.happened", source=SCHEMA, subject=subject, data={"n": n})


async def _until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_relay_publishes_committed_events_in_commit_order_and_never_rolled_back_ones(bus):
    """Guarantee 1: only what committed with the state change is published, in order per key."""
    async with bus.sessions() as s, s.begin():
        for n in range(5):
            await add_event(s, bus.tables, bus.topic, _event(n))
    with pytest.raises(RuntimeError):
        async with bus.sessions() as s, s.begin():
            await add_event(s, bus.tables, bus.topic, _event(99))
            raise RuntimeError("the state change failed: its event must not leave")
    assert await bus.relay().publish_batch() == 5
    assert await bus.count(bus.tables.outbox, bus.tables.outbox.c.published_at.is_(None)) == 0
    got = await bus.read_topic(bus.topic, 6, timeout=5)
    assert [e["data"]["n"] for e in got] == [0, 1, 2, 3, 4]
    assert await bus.relay().publish_batch() == 0  # nothing published twice by a healthy relay


async def test_only_one_relay_publishes_at_a_time(bus):
    """Per-key order with many replicas: the advisory lock lets one relay pass run at once."""
    async with bus.sessions() as s, s.begin():
        await add_event(s, bus.tables, bus.topic, _event(1))
    lock_key = bus.relay()._lock_key
    async with bus.engine.connect() as holder:
        await holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key})
        assert await bus.relay().publish_batch() == 0  # another replica holds the relay lock
        await holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key})
    assert await bus.relay().publish_batch() == 1


async def test_redelivered_event_has_its_effect_once(bus):
    """Guarantee 1: the inbox row commits with the effect, so a second delivery changes nothing."""

    async def handler(session, event):
        await session.execute(insert(bus.effects).values(event_id=str(event.id), note="done"))

    consumer = bus.consumer({"thing.happened": handler})
    event = _event(1)
    for _ in range(2):  # the same event id sent twice, as a relay re-sends after a crash
        await bus.producer.send_and_wait(bus.topic, event.to_bytes(), key=b"case-1")
    task = asyncio.create_task(consumer.run())
    try:
        await _until(lambda: _handled(bus, consumer))
        await asyncio.sleep(0.3)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert await bus.count(bus.effects) == 1
    assert await bus.count(bus.tables.inbox) == 1


async def _handled(bus, consumer) -> bool:
    return await bus.count(bus.tables.inbox) >= 1 and consumer.handled >= 1


async def test_poison_message_goes_to_the_dead_letter_topic_and_the_partition_moves_on(bus):
    """Guarantee 3: bounded retries, then dead letter with the error; the next message is handled."""
    attempts = {"n": 0}

    async def handler(session, event):
        if event.data["n"] == 1:
            attempts["n"] += 1
            raise ValueError("the amount is negative")  # a fault in the message, not in the world
        await session.execute(insert(bus.effects).values(event_id=str(event.id), note="ok"))

    consumer = bus.consumer({"thing.happened": handler}, max_attempts=3)
    await bus.producer.send_and_wait(bus.topic, _event(1).to_bytes(), key=b"case-1")
    await bus.producer.send_and_wait(bus.topic, b"\xff not json at all", key=b"case-1")
    await bus.producer.send_and_wait(bus.topic, _event(2).to_bytes(), key=b"case-1")
    task = asyncio.create_task(consumer.run())
    try:
        await _until(lambda: bus.count(bus.effects))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert attempts["n"] == 3
    dead = bus.tables.dead_letters
    async with bus.sessions() as s:
        rows = (await s.execute(select(dead.c.error, dead.c.attempts).order_by(dead.c.id))).all()
    assert [r.attempts for r in rows] == [3, 1]
    assert "the amount is negative" in rows[0].error and "unparseable" in rows[1].error
    assert await bus.relay().publish_batch() == 2
    # The notice topic is shared with other tests of the session: keep this test's (they name its topic).
    notices = [n for n in await bus.read_topic(f"deadletter.{SCHEMA}", 10**6, timeout=5) if n["data"]["topic"] == bus.topic]
    assert [n["type"] for n in notices] == ["kz.emaket.deadletter.v1"] * 2
    # Different keys, so possibly different partitions: no order between the two notices.
    assert sum("the amount is negative" in n["data"]["error"] for n in notices) == 1


async def test_transient_failure_is_retried_and_never_dead_lettered(bus):
    """An outage outside the message (TransientError) is retried without limit, not dead-lettered."""
    calls = {"n": 0}

    async def handler(session, event):
        calls["n"] += 1
        if calls["n"] <= 5:  # more than max_attempts
            raise TransientError("registry down")
        await session.execute(insert(bus.effects).values(event_id=str(event.id), note="ok"))

    consumer = bus.consumer({"thing.happened": handler}, max_attempts=2)
    await bus.producer.send_and_wait(bus.topic, _event(7).to_bytes(), key=b"case-1")
    task = asyncio.create_task(consumer.run())
    try:
        await _until(lambda: bus.count(bus.effects), timeout=30)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert calls["n"] == 6
    assert await bus.count(bus.tables.dead_letters) == 0


async def test_a_batch_of_events_is_handled_in_one_transaction_in_order(bus):
    """Batching: what one poll returns is handled in one transaction (one inbox insert; the inbox rows share
    the transaction's now()), in the order of the partition, and offsets follow the commit."""
    seen: list[int] = []

    async def handler(session, event):
        seen.append(event.data["n"])
        await session.execute(insert(bus.effects).values(event_id=str(event.id), note=str(event.data["n"])))

    consumer = bus.consumer({"thing.happened": handler})
    events = [_event(n) for n in range(30)]
    for event in events[:8] + [events[7]] + events[8:]:  # event 7 twice in a row, as a relay re-sends after a crash
        await bus.producer.send(bus.topic, event.to_bytes(), key=b"case-1")
    await bus.producer.flush()
    task = asyncio.create_task(consumer.run())
    try:
        await _until(lambda: _count_at_least(bus, bus.effects, 30))
        await asyncio.sleep(0.3)
        # While messages flow the fetch wait is short (the mock broker holds a fetch for all of it).
        assert consumer.kafka is not None and consumer.kafka._fetcher._fetch_max_wait_ms == FETCH_MAX_WAIT_MS
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert seen == list(range(30))  # in order, and the duplicate handled once
    assert await bus.count(bus.tables.inbox) == 30
    async with bus.sessions() as s:
        transactions = await s.scalar(select(func.count(func.distinct(bus.tables.inbox.c.handled_at))))
    assert transactions < 30 / 2, f"{transactions} transactions for 30 events: not batched"
    assert consumer.batch_fallbacks == 0


async def _count_at_least(bus, table, n: int) -> bool:
    return await bus.count(table) >= n


async def test_a_failing_event_in_a_batch_is_dead_lettered_alone_and_the_rest_are_handled_once(bus):
    """A handler error rolls the batch back; its events go one by one, so the poison one is retried and
    dead-lettered (attempts = max) and the others before and after it have their effect exactly once."""
    calls: dict[int, int] = {}

    async def handler(session, event):
        n = event.data["n"]
        calls[n] = calls.get(n, 0) + 1
        await session.execute(insert(bus.effects).values(event_id=str(event.id), note=str(n)))
        if n == 5:
            raise ValueError("the amount is negative")

    consumer = bus.consumer({"thing.happened": handler}, max_attempts=3)
    for n in range(10):
        await bus.producer.send(bus.topic, _event(n).to_bytes(), key=b"case-1")
    await bus.producer.flush()
    task = asyncio.create_task(consumer.run())
    try:
        await _until(lambda: _count_at_least(bus, bus.tables.dead_letters, 1))
        await _until(lambda: _count_at_least(bus, bus.effects, 9))
        await asyncio.sleep(0.3)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    async with bus.sessions() as s:
        notes = sorted(int(n) for n in (await s.execute(select(bus.effects.c.note))).scalars())
        dead = (await s.execute(select(bus.tables.dead_letters.c.attempts, bus.tables.dead_letters.c.error))).all()
    assert notes == [0, 1, 2, 3, 4, 6, 7, 8, 9]  # each once; the failing one's effect rolled back every time
    assert len(dead) == 1 and dead[0].attempts == 3 and "the amount is negative" in dead[0].error
    assert consumer.batch_fallbacks >= 1
    assert await bus.count(bus.tables.inbox) == 10  # nine handled, one dead-lettered: each recorded once
