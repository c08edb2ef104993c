"""Poison on Kafka, on a real PostgreSQL and the Kafka-protocol mock cluster (architecture.md
guarantee 3, "Poison"): no message kills a consumer or stalls its partition, no outbox row stops
the relay, and a consumer that dies anyway is restarted and shows in /healthz and /metrics."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import Column, MetaData, Table, Text, func, insert, select, text, update

from common import supervisor
from common.consumer import EventConsumer
from common.db import make_engine, make_session_factory
from common.envelope import make_event
from common.events import ApplicationReceived
from common.http import ResilientClient
from common.jobs import MAX_ATTEMPTS
from common.outbox import add_event, messaging_tables
from common.relay import OutboxRelay, make_producer
from services.notifier import app as notifier_app
from services.notifier.settings import NotifierSettings
from services.payment_queue import handlers as payment_handlers
from services.payment_queue.adapters.orm import PaymentOrder
from services.payment_queue.adapters.payments_db import PaymentsDatabase
from tests.integration.helpers import IBAN, migrated
from tests.integration.test_messaging import SCHEMA, _Bus, _until


@pytest.fixture
async def bus(fresh_database, kafka_bootstrap):
    """The messaging tables in a throwaway schema, an `effects` table, and the idempotent producer."""
    url = fresh_database()
    metadata = MetaData(schema=SCHEMA)
    tables = messaging_tables(metadata)
    effects = Table("effects", metadata, Column("event_id", Text), Column("note", Text))
    engine = make_engine(url, schema=SCHEMA)
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        await conn.run_sync(metadata.create_all)  # a test-only schema; services migrate with Alembic
    # Large enough to put an oversized poison message on the topic (the mock broker enforces no limit).
    producer = make_producer(kafka_bootstrap, client_id="poison", max_message_bytes=4 * 1024 * 1024)
    await producer.start()
    try:
        yield _Bus(engine, make_session_factory(engine), tables, effects, producer, kafka_bootstrap)
    finally:
        await producer.stop()
        await engine.dispose()


def _good(n: int):
    return make_event("thing.happened", source=SCHEMA, subject="case-1", data={"n": n, "note": "ok"})


def _recording_handler(bus, seen: list):
    async def handler(session, event):
        seen.append(event.data["n"])
        await session.execute(insert(bus.effects).values(event_id=str(event.id), note=event.data["note"]))

    return handler


async def _run_until_good_handled(bus, consumer: EventConsumer, poison: list[bytes | None], good: int) -> asyncio.Task:
    """Send the poison then a good event on one key (one partition); the consumer must reach the good one."""
    for value in poison:
        await bus.producer.send_and_wait(bus.topic, value, key=b"case-1")
    await bus.producer.send_and_wait(bus.topic, _good(good).to_bytes(), key=b"case-1")
    task = asyncio.create_task(consumer.run())
    try:
        await _until(lambda: _effects_or_dead(bus, task), timeout=30)
        assert not task.done(), f"the consumer task died: {task.exception()!r}"
    except BaseException:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise
    return task


async def _effects_or_dead(bus, task) -> bool:
    return task.done() or await bus.count(bus.effects) >= 1


async def _stop(task: asyncio.Task) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _dead_letters(bus) -> list:
    dead = bus.tables.dead_letters
    async with bus.sessions() as s:
        return (await s.execute(select(dead).order_by(dead.c.id))).mappings().all()


async def test_a_tombstone_is_dead_lettered_and_the_consumer_lives_on(bus):
    """Reproduction: a message with no value used to raise out of the loop and end the task silently."""
    seen: list = []
    consumer = bus.consumer({"thing.happened": _recording_handler(bus, seen)})
    task = await _run_until_good_handled(bus, consumer, [None], good=1)
    await _stop(task)
    assert seen == [1]
    [letter] = await _dead_letters(bus)
    assert "tombstone" in letter["error"] and letter["attempts"] == 1
    assert letter["payload"] is None and letter["payload_size"] == 0 and letter["payload_sha256"] is None
    assert await bus.relay().publish_batch() == 1
    # The topic is shared with the other tests of the session: this test's notice names its topic.
    notices = await bus.read_topic(f"deadletter.{SCHEMA}", 10**6, timeout=5)
    [notice] = [n for n in notices if n["data"]["topic"] == bus.topic]
    assert notice["data"]["tombstone"] is True and notice["data"]["original"] == ""


async def test_nul_bytes_are_dead_lettered_with_their_exact_bytes_and_the_partition_moves_on(bus):
    """Reproduction: a NUL (raw, or \\u0000 in JSON) made the dead-letter insert fail forever (PostgreSQL text)."""
    seen: list = []
    consumer = bus.consumer({"thing.happened": _recording_handler(bus, seen)})
    raw_nul = _good(10).to_bytes().replace(b'"ok"', b'"o\x00k"')
    escaped_in_data = json.dumps(_good(11).model_dump(mode="json") | {"data": {"n": 11, "note": "a\u0000b"}}).encode()
    escaped_in_subject = _good(12).to_bytes().replace(b'"case-1"', b'"case\\u0000-1"')
    poison = [raw_nul, escaped_in_data, escaped_in_subject]
    task = await _run_until_good_handled(bus, consumer, poison, good=2)
    await _stop(task)
    assert seen == [2]  # no handler saw a NUL (it would have failed three times on the `effects` insert)
    letters = await _dead_letters(bus)
    assert [bytes(row["payload"]) for row in letters] == poison
    assert [row["payload_sha256"] for row in letters] == [hashlib.sha256(p).hexdigest() for p in poison]
    assert all(row["attempts"] == 1 for row in letters)
    assert "not valid JSON" in letters[0]["error"] and "NUL" in letters[1]["error"] and "NUL" in letters[2]["error"]
    assert await bus.relay().publish_batch() == 3  # the notices are storable and sendable too


async def test_invalid_utf8_oversized_unknown_types_and_wrong_shapes_are_dead_lettered_at_once(bus):
    seen: list = []
    handled_received: list = []

    async def on_received(session, event):
        handled_received.append(ApplicationReceived.of(event))

    consumer = bus.consumer({"thing.happened": _recording_handler(bus, seen), "application.received": on_received})
    oversized = _good(20).to_bytes().replace(b'"ok"', b'"' + b"x" * (1024 * 1024 + 10) + b'"')
    unknown = _good(21).model_dump(mode="json") | {"type": "kz.emaket.nobody.knows.v1"}
    wrong_shape = _good(22).model_dump(mode="json") | {"type": "kz.emaket.application.received.v1"}
    poison = [b"\xc3\x28 not UTF-8", b'{"not": "an envelope"}', oversized, json.dumps(unknown).encode(),
              json.dumps(wrong_shape).encode()]
    task = await _run_until_good_handled(bus, consumer, poison, good=3)
    await _stop(task)
    assert seen == [3] and handled_received == []
    letters = await _dead_letters(bus)
    reasons = ["not UTF-8", "unparseable envelope", "oversized", "unknown event type", "wrong shape"]
    assert len(letters) == len(reasons)
    for row, reason in zip(letters, reasons, strict=True):
        assert reason in row["error"] and row["attempts"] == 1
    big = letters[2]
    assert big["payload_truncated"] is True and big["payload_size"] == len(oversized)
    assert big["payload_sha256"] == hashlib.sha256(oversized).hexdigest() and len(big["payload"]) < len(oversized)


# --- the relay ----------------------------------------------------------------------------


@pytest.mark.parametrize("who_refuses", ["relay limit", "producer limit"])
async def test_an_event_the_broker_cannot_take_is_quarantined_and_the_outbox_moves_on(bus, who_refuses):
    """Reproduction: an event near 1 MB made every relay pass fail, so nothing behind it was published."""
    # "relay limit": the relay's own check (a limit below the producer's); "producer limit": aiokafka's
    # MessageSizeTooLargeError (max_request_size, 1 MiB), what a broker's message.max.bytes refusal becomes.
    limit, size = (200_000, 500_000) if who_refuses == "relay limit" else (10 * 1024 * 1024, 1_100_000)
    async with bus.sessions() as s, s.begin():
        await add_event(s, bus.tables, bus.topic, _good(1))
        await add_event(s, bus.tables, bus.topic, _good(2).model_copy(update={"data": {"n": 2, "note": "x" * size}}))
        await add_event(s, bus.tables, bus.topic, _good(3))
    producer = make_producer(bus.bootstrap, client_id="relay", max_message_bytes=1024 * 1024)
    await producer.start()
    try:
        relay = OutboxRelay(
            sessions=bus.sessions, tables=bus.tables, producer=producer, service=SCHEMA, interval_s=0.01,
            max_message_bytes=limit,
        )
        assert await relay.publish_batch() == 3
        assert await relay.publish_batch() == 0  # nothing left to retry: the refused row waits for ops
    finally:
        await producer.stop()
    assert relay.published == 2 and relay.quarantined == 1
    outbox = bus.tables.outbox
    async with bus.sessions() as s:
        rows = (await s.execute(select(outbox).order_by(outbox.c.id))).mappings().all()
    assert [r["published_at"] is not None for r in rows] == [True, False, True]
    assert rows[1]["quarantined_at"] is not None and "MessageSizeTooLarge" in rows[1]["error"]
    got = await bus.read_topic(bus.topic, 2, timeout=10)
    assert [e["data"]["n"] for e in got] == [1, 3]


# --- supervision ---------------------------------------------------------------------------


async def test_a_consumer_that_dies_is_restarted_and_healthz_and_metrics_show_it_meanwhile(
    fresh_database, kafka_bootstrap, monkeypatch
):
    """Reproduction: a consumer task that died left /healthz green; now it is named there until restarted."""
    monkeypatch.setattr(supervisor, "RESTART_BASE_S", 1.5)
    monkeypatch.setattr(notifier_app, "workers", lambda runtime: {})
    runs = {"n": 0}
    forever = asyncio.Event()

    async def run(self) -> None:  # the consumer's loop, without joining the mock's group (3-9 s)
        runs["n"] += 1
        if runs["n"] == 1:
            raise RuntimeError("a bug in the consumer loop")
        await forever.wait()

    monkeypatch.setattr(EventConsumer, "run", run)
    settings = NotifierSettings(DATABASE_URL=fresh_database(), KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, DEV_MODE=True)
    app = notifier_app.create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as http:
            down = await http.get("/healthz")
            assert down.status_code == 503, down.text
            assert down.json()["dead"] == ["consumer:notifier"] and "consumer:notifier" in down.json()["detail"]
            metrics = (await http.get("/metrics")).text
            assert 'emaket_consumer_alive{consumer="notifier",service="notifier"} 0' in metrics
            assert 'emaket_task_restarts_total{service="notifier",task="consumer:notifier"} 1' in metrics
            deadline = time.monotonic() + 10
            while (up := await http.get("/healthz")).status_code != 200:
                assert time.monotonic() < deadline, up.text
                await asyncio.sleep(0.1)
            metrics = (await http.get("/metrics")).text
            assert 'emaket_consumer_alive{consumer="notifier",service="notifier"} 1' in metrics
            assert 'emaket_task_alive{service="notifier",task="relay"} 1' in metrics
    assert runs["n"] == 2


# --- jobs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json={"unexpected": True}),
        httpx.Response(201, json=["order"]),
        httpx.Response(200, text="<html>maintenance</html>"),
    ],
    ids=["no order id", "a list", "not json"],
)
async def test_a_200_of_the_wrong_shape_is_a_failed_attempt_with_backoff_then_failed(fresh_database, answer):
    """No hot loop on odd answers: the attempt counts, the job waits, and at the limit it is `failed`."""
    calls = {"n": 0}

    def payments(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return answer

    client = ResilientClient(system="payments", base_url="http://payments", transport=httpx.MockTransport(payments))
    payments_db = PaymentsDatabase(client)
    decision_id = uuid.uuid4()
    async with migrated(fresh_database(), "payment_queue") as sessions:
        async with sessions() as s, s.begin():
            s.add(PaymentOrder(
                decision_id=decision_id, application_id=uuid.uuid4(), benefit="burial", payee_id="610615300012",
                iban=IBAN, amount_kzt=151375, purpose="burial benefit", status="pending", decision={},
            ))
        try:
            assert await payment_handlers.place_one(sessions, payments_db) == 1
            assert await payment_handlers.place_one(sessions, payments_db) == 0  # not due again at once
            async with sessions() as s:
                order = await s.get(PaymentOrder, decision_id)
            assert order.status == "pending" and order.attempts == 1 and "wrong shape" in order.last_error
            assert order.next_attempt_at > datetime.now(timezone.utc) + timedelta(seconds=0.5)
            async with sessions() as s, s.begin():
                await s.execute(
                    update(PaymentOrder)
                    .where(PaymentOrder.decision_id == decision_id)
                    .values(attempts=MAX_ATTEMPTS - 1, next_attempt_at=func.now())
                )
            assert await payment_handlers.place_one(sessions, payments_db) == 1
            async with sessions() as s:
                order = await s.get(PaymentOrder, decision_id)
            assert order.status == "failed" and order.attempts == MAX_ATTEMPTS and order.external_order_id is None
            assert await payment_handlers.place_one(sessions, payments_db) == 0
            assert calls["n"] == 2
        finally:
            await client.aclose()
