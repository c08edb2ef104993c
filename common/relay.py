"""Outbox relay: publishes committed outbox rows with the idempotent producer.

One relay per service publishes at a time (a transaction-scoped advisory lock),
so events keep their commit order per key even with many replicas; the others
stand by. A crash after sending and before marking re-sends the rows on the
next pass: consumers deduplicate by event id (the inbox).
"""

from __future__ import annotations

import asyncio
import json
import logging
import zlib

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from common import crash
from common.outbox import MessagingTables

log = logging.getLogger(__name__)
BATCH = 200


def make_producer(bootstrap: str, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
    )


class OutboxRelay:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker,
        tables: MessagingTables,
        producer: AIOKafkaProducer,
        service: str,
        interval_s: float,
    ) -> None:
        self._sessions = sessions
        self._tables = tables
        self._producer = producer
        self._lock_key = zlib.crc32(f"outbox-relay:{service}".encode())
        self._interval_s = interval_s
        self.published = 0

    async def run(self) -> None:
        while True:
            try:
                sent = await self.publish_batch()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay pass failed; retrying")
                sent = 0
                await asyncio.sleep(1.0)
            if sent < BATCH:
                await asyncio.sleep(self._interval_s)

    async def publish_batch(self) -> int:
        outbox = self._tables.outbox
        async with self._sessions() as session, session.begin():
            locked = await session.scalar(select(func.pg_try_advisory_xact_lock(self._lock_key)))
            if not locked:
                return 0
            rows = (
                await session.execute(
                    select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.envelope)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(BATCH)
                )
            ).all()
            if not rows:
                return 0
            crash.point("relay.before_publish")
            futures = [
                await self._producer.send(
                    row.topic,
                    value=json.dumps(row.envelope, ensure_ascii=False).encode(),
                    key=row.key.encode(),
                )
                for row in rows
            ]
            await asyncio.gather(*futures)
            crash.point("relay.after_publish")
            await session.execute(
                update(outbox).where(outbox.c.id.in_([r.id for r in rows])).values(published_at=func.now())
            )
        self.published += len(rows)
        return len(rows)
