"""Kafka consumer loop with an inbox, bounded retries and a dead-letter topic.

For each message: the handler's effect and the inbox row commit in one
transaction; the offset is committed only after that (architecture.md
guarantee 1). A handler that keeps failing is retried `max_attempts` times,
then the message goes to `deadletter.<service>` with the error and to the
`dead_letters` table for replay (guarantee 3); the partition moves on.
Infrastructure trouble (database unreachable) is not the message's fault: it
is retried without limit and never dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common import crash
from common.envelope import Envelope, make_event
from common.outbox import MessagingTables, add_event, claim_inbox

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]


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
        self.handled = 0

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
            )
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
        while True:
            batch = await consumer.getmany(timeout_ms=500, max_records=100)
            for tp, messages in batch.items():
                for message in messages:
                    await self.process(message)
                    crash.point("consumer.after_commit")
                try:
                    await consumer.commit({TopicPartition(tp.topic, tp.partition): messages[-1].offset + 1})
                except CommitFailedError:
                    # A rebalance moved the partition; its new owner re-reads, the inbox dedupes.
                    log.warning("offset commit failed after rebalance on %s", tp)

    async def process(self, message: ConsumerRecord) -> None:
        try:
            event = Envelope.from_bytes(message.value)
        except Exception as exc:  # noqa: BLE001 - anything unparseable is poison
            await self._dead_letter(message, None, f"unparseable envelope: {exc}", attempts=1)
            return
        handler = self.spec.handlers.get(event.name)
        if handler is None:
            return  # an event type this consumer does not act on
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
                    log.error("dead-lettering %s after %d attempts: %r", event.name, attempt, exc)
                    await self._dead_letter(message, event, repr(exc), attempts=attempt)
                    return
                await asyncio.sleep(self._retry_delay_s * 2 ** (attempt - 1))

    async def handle(self, event: Envelope, handler: Handler) -> bool:
        """Run the handler and record the inbox row in one transaction; False when already handled."""
        async with self._sessions() as session, session.begin():
            if not await claim_inbox(session, self._tables, self.spec.group, event.id):
                return False
            await handler(session, event)
            return True

    async def _dead_letter(self, message: ConsumerRecord, event: Envelope | None, error: str, *, attempts: int) -> None:
        raw = message.value.decode("utf-8", errors="replace")
        while True:
            try:
                async with self._sessions() as session, session.begin():
                    if event is not None and not await claim_inbox(session, self._tables, self.spec.group, event.id):
                        return
                    await session.execute(
                        insert(self._tables.dead_letters).values(
                            consumer=self.spec.group,
                            topic=message.topic,
                            partition=message.partition,
                            offset=message.offset,
                            event_id=event.id if event else None,
                            raw=raw,
                            error=error[:4000],
                            attempts=attempts,
                        )
                    )
                    notice = make_event(
                        "deadletter",
                        source=self._service,
                        subject=event.subject if event else f"{message.topic}/{message.partition}/{message.offset}",
                        data={
                            "consumer": self.spec.group,
                            "topic": message.topic,
                            "partition": message.partition,
                            "offset": message.offset,
                            "error": error[:4000],
                            "original": raw,
                        },
                    )
                    await add_event(session, self._tables, f"deadletter.{self._service}", notice)
                return
            except Exception:  # noqa: BLE001 - never drop the message: keep trying
                log.exception("could not dead-letter; retrying")
                await asyncio.sleep(1.0)
