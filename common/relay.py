"""Outbox relay: publishes committed outbox rows with the idempotent producer.

One relay per service publishes at a time (a transaction-scoped advisory lock),
so events keep their commit order per key even with many replicas; the others
stand by. A crash after sending and before marking re-sends the rows on the
next pass: consumers deduplicate by event id (the inbox).

A row the broker will never take (larger than ``max_message_bytes``, or a value
that cannot be serialised) is quarantined with its error and the relay moves on:
one bad row must not hold back every event behind it. Quarantined rows are
counted in /metrics and listed for ops (GET /api/v1/ops/outbox/quarantined).
Anything else (broker unreachable, timeouts) fails the pass, which is retried.
"""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    UnsupportedForMessageFormatError,
)
from sqlalchemy import Text, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common import crash
from common.outbox import MessagingTables
from common.wake import Waiter

log = logging.getLogger(__name__)
BATCH = 200
# Apache Kafka's default broker limit (message.max.bytes) is 1 048 588 bytes; the producer refuses
# anything larger itself, so "too large" does not depend on the broker. librdkafka's mock cluster
# enforces no limit at all (it took 10 MB), so only this client-side check is proven there.
MAX_MESSAGE_BYTES = 1024 * 1024

# Errors about the row itself: sending it again cannot succeed.
_REFUSED = (MessageSizeTooLargeError, RecordListTooLargeError, InvalidTopicError, UnsupportedForMessageFormatError)


class Unsendable(Exception):
    """This outbox row can never be published as it is."""


def make_producer(
    bootstrap: str, client_id: str, *, max_message_bytes: int = MAX_MESSAGE_BYTES, idempotence: bool = True
) -> AIOKafkaProducer:
    """``idempotence=False`` only for a broker without InitProducerId (Tansu): consumers' inboxes dedupe."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=idempotence,
        acks="all",
        linger_ms=5,
        max_request_size=max_message_bytes,
    )


def serialise(envelope: Any, *, max_bytes: int) -> bytes:
    """The Kafka value of an outbox row, or Unsendable (not JSON-able, not UTF-8-able, too large)."""
    try:
        value = json.dumps(envelope, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError (a lone surrogate)
        raise Unsendable(f"cannot serialise: {type(exc).__name__}: {exc}"[:500]) from None
    if len(value) > max_bytes:
        raise Unsendable(f"MessageSizeTooLarge: {len(value)} bytes, the limit is {max_bytes}")
    return value


def encoded(text: str, *, max_bytes: int) -> bytes:
    """The Kafka value of an envelope PostgreSQL printed as JSON text, or Unsendable (too large)."""
    try:
        value = text.encode("utf-8")
    except UnicodeEncodeError as exc:  # not from PostgreSQL's JSONB output (always valid UTF-8); kept for safety
        raise Unsendable(f"cannot serialise: {type(exc).__name__}: {exc}"[:500]) from None
    if len(value) > max_bytes:
        raise Unsendable(f"MessageSizeTooLarge: {len(value)} bytes, the limit is {max_bytes}")
    return value


def _trace_headers(traceparent: str | None) -> list[tuple[str, bytes]] | None:
    """The Kafka headers of a row: its ``traceparent`` when it was written inside a trace."""
    if not traceparent or len(traceparent) > 55 or not traceparent.isascii():
        return None
    return [("traceparent", traceparent.encode("ascii"))]


class OutboxRelay:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker,
        tables: MessagingTables,
        producer: AIOKafkaProducer,
        service: str,
        interval_s: float,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        wake: Waiter | None = None,
    ) -> None:
        """``interval_s``: the safety poll when ``wake`` (common/wake.py) is given, else the poll itself."""
        self._sessions = sessions
        self._wake = wake
        self._tables = tables
        self._producer = producer
        self._lock_key = zlib.crc32(f"outbox-relay:{service}".encode())
        self._interval_s = interval_s
        self._max_message_bytes = max_message_bytes
        self.published = 0
        self.quarantined = 0

    async def run(self) -> None:
        """Publish whenever a commit wrote outbox rows (``wake``), else every ``interval_s`` (the safety poll)."""
        while True:
            if self._wake is not None:
                self._wake.clear()  # before looking: a commit during the pass sets it again
            try:
                sent = await self.publish_batch()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay pass failed; retrying")
                await asyncio.sleep(1.0)
                continue
            if sent >= BATCH:
                continue  # more is ready
            if self._wake is None:
                await asyncio.sleep(self._interval_s)
            else:
                await self._wake.wait(self._interval_s)

    async def publish_batch(self) -> int:
        """Send every ready row (up to BATCH) in id order in one go; returns how many it settled.

        All rows are handed to the producer, then all acknowledgements awaited together, then the
        published ones marked in one UPDATE. A row the broker can never take is quarantined; any
        other failure fails the pass (nothing marked; the rows are sent again, consumers dedupe).
        """
        outbox = self._tables.outbox
        async with self._sessions() as session, session.begin():
            locked = await session.scalar(select(func.pg_try_advisory_xact_lock(self._lock_key)))
            if not locked:
                return 0
            rows = (
                await session.execute(
                    # The envelope as PostgreSQL prints the JSONB: valid UTF-8 JSON already, so it is sent
                    # as it is, neither parsed into Python nor serialised again.
                    select(
                        outbox.c.id,
                        outbox.c.topic,
                        outbox.c.key,
                        cast(outbox.c.envelope, Text).label("value"),
                        # The W3C context the event was written in (common/tracing.py), also sent as a header.
                        outbox.c.envelope["traceparent"].astext.label("traceparent"),
                    )
                    .where(outbox.c.published_at.is_(None), outbox.c.quarantined_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(BATCH)
                )
            ).all()
            if not rows:
                return 0
            crash.point("relay.before_publish")
            sent: list[tuple[int, asyncio.Future]] = []
            refused: dict[int, str] = {}
            for row in rows:
                try:
                    value = encoded(row.value, max_bytes=self._max_message_bytes)
                    headers = _trace_headers(row.traceparent)
                    sent.append(
                        (row.id, await self._producer.send(row.topic, value=value, key=row.key.encode(), headers=headers))
                    )
                except Unsendable as exc:
                    refused[row.id] = str(exc)
                except _REFUSED as exc:
                    refused[row.id] = f"{type(exc).__name__}: {exc}"[:500]
            results = await asyncio.gather(*(future for _, future in sent), return_exceptions=True)
            published = []
            for (row_id, _), result in zip(sent, results, strict=True):
                if isinstance(result, _REFUSED):
                    refused[row_id] = f"{type(result).__name__}: {result}"[:500]
                elif isinstance(result, BaseException):
                    raise result  # the broker, not the row: retry the whole pass
                else:
                    published.append(row_id)
            crash.point("relay.after_publish")
            if published:
                await session.execute(update(outbox).where(outbox.c.id.in_(published)).values(published_at=func.now()))
            await self._quarantine(session, refused)
        self.published += len(published)
        self.quarantined += len(refused)
        return len(rows)

    async def _quarantine(self, session: AsyncSession, refused: dict[int, str]) -> None:
        outbox = self._tables.outbox
        for row_id, error in refused.items():
            # Only the row id and the error: the envelope holds personal data.
            log.error("outbox row %d quarantined, the broker cannot take it: %s", row_id, error)
            await session.execute(
                update(outbox).where(outbox.c.id == row_id).values(quarantined_at=func.now(), error=error)
            )
