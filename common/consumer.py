"""Kafka consumer loop with an inbox, bounded retries and a dead-letter topic.

For each message: the handler's effect and the inbox row commit in one
transaction; the offset is committed only after that (architecture.md
guarantee 1). A handler that keeps failing is retried `max_attempts` times,
then the message goes to `deadletter.<service>` with the error and to the
`dead_letters` table for replay (guarantee 3); the partition moves on.
Infrastructure trouble (database unreachable) is not the message's fault: it
is retried without limit and never dead-lettered.

Poison is refused before any handler sees it and dead-lettered at once
(`EventConsumer.admit`): tombstones, oversized values, bytes that are not UTF-8
JSON or hold what PostgreSQL cannot store, non-envelopes, unknown event types,
known types with the wrong shape. The dead letter keeps the value as bytes, so
storing it cannot fail on what the message holds.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common import crash
from common.envelope import Envelope, make_event
from common.events import EVENTS
from common.logging import mask_personal_data
from common.outbox import MAX_STORED_PAYLOAD, MessagingTables, add_event, claim_inbox, claim_inbox_many
from common.relay import MAX_MESSAGE_BYTES
from common.strict_json import HostileJson, check_storable, loads_strict
from common.tracing import SpanKind, context_from, span

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]

# At most this many messages per poll, handled in one transaction when none fails.
MAX_BATCH = 100
# How long one poll waits for messages when there are none (the loop simply polls again).
GETMANY_TIMEOUT_MS = 1000
# How long the broker may hold a fetch that found nothing. A real broker answers as soon as data
# arrives; librdkafka's mock cluster holds the fetch the whole time, so there this is the latency a
# message waits, and each empty fetch costs CPU (decoding the answer for every partition). So the
# wait adapts: FETCH_MAX_WAIT_MS while messages flow and for FETCH_BUSY_S after the last one, then
# FETCH_IDLE_WAIT_MS. Measured idle (tools/idle_cpu.py): a fixed 100 ms kept the stack at 5% of a core,
# 300 ms at 2.8-3.6%, 500 ms at 2.7-3.0%; against the mock, 20 ms while busy gave 20-28 ms per message.
FETCH_MAX_WAIT_MS = 20
FETCH_IDLE_WAIT_MS = 500
FETCH_BUSY_S = 3.0


class TransientError(Exception):
    """Raised by a handler when the cause is outside the message (try again later)."""


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (TransientError, OperationalError, InterfaceError, OSError, ConnectionError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


@dataclass
class ConsumerSpec:
    group: str
    topics: list[str]
    handlers: dict[str, Handler] = field(default_factory=dict)


class EventConsumer:
    def __init__(
        self,
        *,
        spec: ConsumerSpec,
        bootstrap: str,
        sessions: async_sessionmaker,
        tables: MessagingTables,
        service: str,
        max_attempts: int = 3,
        retry_delay_s: float = 0.2,
        session_timeout_ms: int = 10000,
        heartbeat_interval_ms: int = 3000,
        max_value_bytes: int = MAX_MESSAGE_BYTES,
        fetch_max_wait_ms: int = FETCH_MAX_WAIT_MS,
    ) -> None:
        self.spec = spec
        self._bootstrap = bootstrap
        self._sessions = sessions
        self._tables = tables
        self._service = service
        self._max_attempts = max_attempts
        self._retry_delay_s = retry_delay_s
        self._session_timeout_ms = session_timeout_ms
        self._heartbeat_interval_ms = heartbeat_interval_ms
        self._max_value_bytes = max_value_bytes
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self.handled = 0
        self.dead_lettered = 0
        self.batch_fallbacks = 0
        self.kafka: AIOKafkaConsumer | None = None  # the current client (tests look at its fetch wait)

    async def run(self) -> None:
        """Consume forever; a broken connection restarts the consumer, never the process."""
        while True:
            consumer = AIOKafkaConsumer(
                *self.spec.topics,
                bootstrap_servers=self._bootstrap,
                group_id=self.spec.group,
                client_id=f"{self._service}-{self.spec.group}",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                metadata_max_age_ms=5000,
                session_timeout_ms=self._session_timeout_ms,
                heartbeat_interval_ms=self._heartbeat_interval_ms,
                fetch_max_wait_ms=FETCH_IDLE_WAIT_MS,
            )
            self.kafka = consumer
            try:
                await consumer.start()
                await self._loop(consumer)
            except asyncio.CancelledError:
                raise
            except KafkaError:
                log.exception("consumer %s lost Kafka; reconnecting", self.spec.group)
                await asyncio.sleep(1.0)
            finally:
                await consumer.stop()

    async def _loop(self, consumer: AIOKafkaConsumer) -> None:
        busy_until = 0.0
        # The next offset per partition, committed after handling by this client: the consumer lag (common/metrics.py).
        self.committed_offsets: dict[TopicPartition, int] = {}
        while True:
            batch = await consumer.getmany(timeout_ms=GETMANY_TIMEOUT_MS, max_records=MAX_BATCH)
            now = time.monotonic()
            if batch:
                busy_until = now + FETCH_BUSY_S
            _set_fetch_wait(consumer, self._fetch_max_wait_ms if now < busy_until else FETCH_IDLE_WAIT_MS)
            if not batch:
                continue
            await self.process_many([message for messages in batch.values() for message in messages])
            crash.point("consumer.after_commit")
            offsets = {TopicPartition(tp.topic, tp.partition): messages[-1].offset + 1 for tp, messages in batch.items()}
            try:
                await consumer.commit(offsets)
                self.committed_offsets.update(offsets)
            except CommitFailedError:
                # A rebalance moved a partition; its new owner re-reads, the inbox dedupes.
                log.warning("offset commit failed after rebalance on %s", ", ".join(map(str, offsets)))

    async def process_many(self, messages: list[ConsumerRecord]) -> None:
        """Handle messages in their order, the admitted ones in as few transactions as possible.

        Consecutive messages with a handler run in one transaction (one inbox insert for all of them);
        poison between them is dead-lettered in its place. Should any handler of a batch fail, the
        batch rolls back and its messages go one by one (``process``): retries, attempts and dead
        letters exactly as for a single message, and the others are handled.
        """
        ready: list[tuple[ConsumerRecord, Envelope, Handler]] = []
        for message in messages:
            try:
                event = self.admit(message.value)
            except Poison as exc:
                await self._run_batch(ready)
                ready = []
                await self._dead_letter(message, exc.event, str(exc), attempts=1)
                continue
            handler = self.spec.handlers.get(event.name)
            if handler is not None:  # else an event type this consumer does not act on
                ready.append((message, _with_header_trace(message, event), handler))
        await self._run_batch(ready)

    async def _run_batch(self, ready: list[tuple[ConsumerRecord, Envelope, Handler]]) -> None:
        if len(ready) > 1:
            try:
                await self.handle_many([(event, handler) for _, event, handler in ready])
                self.handled += len(ready)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - rolled back: each message again on its own
                self.batch_fallbacks += 1
                log.warning("a batch of %d events failed (%s); handling them one by one", len(ready), type(exc).__name__)
        for message, event, handler in ready:
            await self._process_admitted(message, event, handler)

    async def handle_many(self, items: list[tuple[Envelope, Handler]]) -> int:
        """Run the handlers of events not yet handled, and record them in the inbox, in one transaction."""
        async with self._sessions() as session, session.begin():
            fresh = await claim_inbox_many(session, self._tables, self.spec.group, [event.id for event, _ in items])
            handled = 0
            for event, handler in items:
                if event.id in fresh:
                    fresh.discard(event.id)  # the same event twice in one batch: once
                    with self.span(event):  # each event its own span, under its own producer's context
                        await handler(session, event)
                    handled += 1
            return handled

    async def process(self, message: ConsumerRecord) -> None:
        try:
            event = self.admit(message.value)
        except Poison as exc:
            await self._dead_letter(message, exc.event, str(exc), attempts=1)
            return
        handler = self.spec.handlers.get(event.name)
        if handler is None:
            return  # an event type this consumer does not act on
        await self._process_admitted(message, _with_header_trace(message, event), handler)

    async def _process_admitted(self, message: ConsumerRecord, event: Envelope, handler: Handler) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                await self.handle(event, handler)
                self.handled += 1
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - classified below
                if _is_transient(exc):
                    log.warning("transient failure on %s (%s); retrying", event.name, type(exc).__name__)
                    await asyncio.sleep(min(self._retry_delay_s * 2 ** min(attempt, 6), 10.0))
                    continue
                if attempt >= self._max_attempts:
                    error = describe(exc)
                    log.error("dead-lettering %s after %d attempts: %s", event.name, attempt, error)
                    await self._dead_letter(message, event, error, attempts=attempt)
                    return
                await asyncio.sleep(self._retry_delay_s * 2 ** (attempt - 1))

    def admit(self, value: bytes | None) -> Envelope:
        """The message as an envelope this consumer may hand to a handler, or Poison saying why not.

        Refused before any handler runs: a tombstone, a value over the size limit, bytes that are
        not UTF-8 JSON or hold what PostgreSQL cannot store (NUL, lone surrogates), a body that is
        not an envelope, an event type nobody knows, and a known type whose data has the wrong shape.
        """
        if value is None:
            raise Poison("tombstone: a message with no value")
        if len(value) > self._max_value_bytes:
            raise Poison(f"oversized: {len(value)} bytes, the limit is {self._max_value_bytes}")
        try:
            parsed = parse_value(value)
        except HostileJson as exc:
            raise Poison(f"unparseable envelope: {exc}") from None
        try:
            event = Envelope.model_validate(parsed)
        except ValidationError as exc:
            raise Poison(f"unparseable envelope: {describe(exc)}") from None
        contract = EVENTS.get(event.name)
        if contract is None and event.name not in self.spec.handlers:
            raise Poison(f"unknown event type {event.type[:200]}", event)
        # Another version of a known type goes to its handler, which knows which versions it reads.
        if contract is not None and event.name in self.spec.handlers and event.type == contract.type_name():
            try:
                contract.of(event)
            except ValueError as exc:  # pydantic's ValidationError is a ValueError
                raise Poison(f"wrong shape for {event.type[:200]}: {describe(exc)}", event) from None
        return event

    async def handle(self, event: Envelope, handler: Handler) -> bool:
        """Run the handler and record the inbox row in one transaction; False when already handled."""
        async with self._sessions() as session, session.begin():
            if not await claim_inbox(session, self._tables, self.spec.group, event.id):
                return False
            with self.span(event):
                await handler(session, event)
            return True

    def span(self, event: Envelope):
        """The CONSUMER span of one event's handler, a child of the context the event was written in
        (the Kafka header or the envelope's ``traceparent``): what the handler writes carries that trace."""
        return span(
            f"process {event.name}",
            kind=SpanKind.CONSUMER,
            parent=context_from(event.traceparent, event.tracestate),
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.consumer.group.name": self.spec.group,
                "messaging.message.id": str(event.id),
                "emaket.event": event.name,
                "emaket.application_id": event.subject[:100],
            },
        )

    async def _dead_letter(self, message: ConsumerRecord, event: Envelope | None, error: str, *, attempts: int) -> None:
        """Store the message as bytes with the error and announce it; never give up on a database outage.

        Whatever the message holds is storable: the value as bytea (cut at MAX_STORED_PAYLOAD, with its
        full size and sha256), the error with NUL and lone surrogates escaped. Should the database still
        refuse the row, a row without the payload is stored; should it refuse that too, the message is
        logged (without its content) and the partition moves on.
        """
        letter = DeadLetter.of(message, event, error, attempts=attempts, consumer=self.spec.group)
        for full in (True, False):
            while True:
                try:
                    await self._store(letter if full else letter.without_payload())
                    self.dead_lettered += 1
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - classified below
                    if _is_transient(exc):
                        log.warning("could not dead-letter (%s); retrying", type(exc).__name__)
                        await asyncio.sleep(1.0)
                        continue
                    log.error(
                        "the database refused dead letter %s/%d/%d (%s)",
                        message.topic, message.partition, message.offset, describe(exc)[:300],
                    )
                    break
        log.critical("dead letter %s/%d/%d lost: not storable", message.topic, message.partition, message.offset)

    async def _store(self, letter: "DeadLetter") -> None:
        async with self._sessions() as session, session.begin():
            if letter.event_id is not None and not await claim_inbox(
                session, self._tables, self.spec.group, letter.event_id
            ):
                return
            await session.execute(insert(self._tables.dead_letters).values(letter.row()))
            notice = make_event("deadletter", source=self._service, subject=letter.subject, data=letter.notice())
            await add_event(session, self._tables, f"deadletter.{self._service}", notice)


def _with_header_trace(message: ConsumerRecord, event: Envelope) -> Envelope:
    """The event with the Kafka ``traceparent`` header as its trace context, when the message has one
    (the relay copies it from the envelope; a message without the header keeps the envelope's)."""
    for key, value in message.headers or ():
        if key == "traceparent" and value:
            try:
                header = value.decode("ascii")
            except UnicodeDecodeError:
                return event
            if context_from(header) is not None and header != event.traceparent:
                event.traceparent = header
                event.tracestate = None  # it belongs to the envelope's own context
            return event
    return event


# 19 digits in a row may be an integer beyond 64 bits (or just a long string): the strict reader then.
_LONG_NUMBER = re.compile(rb"[0-9]{19}")


def parse_value(value: bytes) -> Any:
    """The message's JSON, refusing what ``loads_strict`` refuses (HostileJson), fast for well-formed JSON.

    orjson reads what the relays send about ten times faster than the strict reader. It refuses
    everything the strict reader refuses but NUL characters and nesting up to 1024 levels, which
    ``check_storable`` refuses next; whatever orjson refuses (invalid UTF-8 or JSON, NaN, a number out
    of range, a lone surrogate, deep nesting) goes to ``loads_strict`` for its verdict and its reason.
    """
    if _LONG_NUMBER.search(value):
        return loads_strict(value)  # orjson reads integers beyond 64 bits as floats: keep them exact
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        return loads_strict(value)
    check_storable(parsed)
    return parsed


def _set_fetch_wait(consumer: AIOKafkaConsumer, ms: int) -> None:
    """The next fetches' max wait. aiokafka reads it from its fetcher for every request but has no public
    setter; should that attribute ever go, the consumer keeps the wait it was built with (the idle one)."""
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is not None and hasattr(fetcher, "_fetch_max_wait_ms"):
        fetcher._fetch_max_wait_ms = ms


class Poison(Exception):
    """A message no handler may see; ``event`` is its envelope when it parsed."""

    def __init__(self, reason: str, event: Envelope | None = None) -> None:
        super().__init__(reason)
        self.event = event


def storable(text: str, limit: int = 4000) -> str:
    """``text`` as PostgreSQL text and JSONB take it: NUL and lone surrogates escaped, cut at ``limit``."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")[:limit]


def describe(exc: BaseException) -> str:
    """The error for a dead letter; a validation error without the values it saw (they hold personal data)."""
    if isinstance(exc, ValidationError):
        parts = [
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
        return storable(f"{exc.error_count()} validation errors: " + "; ".join(parts))
    return storable(repr(exc))


@dataclass(frozen=True)
class DeadLetter:
    consumer: str
    topic: str
    partition: int
    offset: int
    event_id: uuid.UUID | None
    subject: str
    error: str
    attempts: int
    payload: bytes | None
    size: int
    sha256: str | None
    truncated: bool

    @classmethod
    def of(cls, message: ConsumerRecord, event: Envelope | None, error: str, *, attempts: int, consumer: str) -> "DeadLetter":
        value = message.value
        where = f"{message.topic}/{message.partition}/{message.offset}"
        subject = event.subject if event is not None and len(event.subject) <= 200 else where
        return cls(
            consumer=consumer,
            topic=storable(message.topic, 300),
            partition=message.partition,
            offset=message.offset,
            event_id=event.id if event is not None else None,
            subject=storable(subject, 300),
            error=storable(error),
            attempts=attempts,
            payload=None if value is None else value[:MAX_STORED_PAYLOAD],
            size=0 if value is None else len(value),
            sha256=None if value is None else hashlib.sha256(value).hexdigest(),
            truncated=value is not None and len(value) > MAX_STORED_PAYLOAD,
        )

    def without_payload(self) -> "DeadLetter":
        return replace(
            self, payload=None, truncated=self.size > 0, error=f"{self.error[:3000]} (payload not storable)"
        )

    def row(self) -> dict:
        return {
            "consumer": self.consumer,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "event_id": self.event_id,
            "payload": self.payload,
            "payload_size": self.size,
            "payload_sha256": self.sha256,
            "payload_truncated": self.truncated,
            "error": self.error,
            "attempts": self.attempts,
        }

    def notice(self) -> dict:
        """`data` of the deadletter event (common.events.DeadLettered): the payload travels as base64."""
        return {
            "consumer": self.consumer,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "error": self.error,
            "original": base64.b64encode(self.payload or b"").decode("ascii"),
            "encoding": "base64",
            "tombstone": self.sha256 is None,
            "size": self.size,
            "sha256": self.sha256,
            "truncated": self.truncated,
        }


_PREVIEW_SOURCE_BYTES = 8 * 1024
# Keys whose values are people's names; the other personal data (IINs, phones, IBANs) is masked by pattern.
_NAME_KEY = re.compile(r"name|patronymic|fio", re.IGNORECASE)
_NAME_IN_TEXT = re.compile(r'("[^"]*(?:name|patronymic|fio)[^"]*"\s*:\s*")[^"]*', re.IGNORECASE)


def _mask_names(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "***" if _NAME_KEY.search(k) and isinstance(v, str) else _mask_names(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_names(v) for v in value]
    return value


def masked_preview(payload: bytes | None, *, limit: int = 500) -> str:
    """The start of a dead letter's payload for ops: names, IINs, phones and IBANs masked, NUL escaped."""
    if not payload:
        return ""
    try:
        if len(payload) > _PREVIEW_SOURCE_BYTES:
            raise HostileJson("body", "too long to parse for a preview")
        text = json.dumps(_mask_names(loads_strict(payload)), ensure_ascii=False, separators=(",", ":"))
    except HostileJson:
        # Not JSON (or cut): mask names by their keys in the text. Masking runs before cutting, so a
        # number cut in half is never shown unmasked.
        text = _NAME_IN_TEXT.sub(r"\1***", payload[:_PREVIEW_SOURCE_BYTES].decode("utf-8", "replace"))
    return mask_personal_data(storable(text, _PREVIEW_SOURCE_BYTES * 2))[:limit]
