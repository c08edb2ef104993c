"""Transactional outbox, inbox and dead-letter tables (architecture.md guarantees 1 and 3).

Each service owns a copy of these tables in its own schema: `messaging_tables`
adds them to the service's MetaData, and its Alembic history creates them.

A dead letter keeps the message's value as bytes (``payload``, bytea), never as text: a
tombstone, a NUL byte or invalid UTF-8 must be storable, or the consumer could not move on.
The payload is capped at ``MAX_STORED_PAYLOAD`` bytes; ``payload_size``, ``payload_sha256``
(of the full value) and ``payload_truncated`` say what was cut. An outbox row the relay cannot
send is quarantined (``quarantined_at``, ``error``) instead of blocking the rows behind it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    Uuid,
    func,
    insert,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from common.audit import audit_log_table
from common.envelope import TRACE_ATTRIBUTES, Envelope
from common.tracing import trace_attributes
from common.wake import mark

# A value this size or smaller is kept whole in a dead letter; larger ones are cut (and flagged).
MAX_STORED_PAYLOAD = 256 * 1024


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table
    dead_letters: Table


def messaging_tables(metadata: MetaData) -> MessagingTables:
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("envelope", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        # Set when the broker refuses the row for good (too large, unserialisable): ops look, the rest flows.
        Column("quarantined_at", DateTime(timezone=True)),
        Column("error", Text),
    )
    Index(
        "ix_outbox_pending",
        outbox.c.id,
        postgresql_where=outbox.c.published_at.is_(None) & outbox.c.quarantined_at.is_(None),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", Text, nullable=False),
        Column("event_id", Uuid, nullable=False),
        Column("handled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id"),
    )
    dead_letters = Table(
        "dead_letters",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("consumer", Text, nullable=False),
        Column("topic", Text, nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("event_id", Uuid),
        Column("payload", LargeBinary),  # the value as received, cut at MAX_STORED_PAYLOAD; NULL: a tombstone
        Column("payload_size", Integer, nullable=False),  # of the full value
        Column("payload_sha256", Text),  # of the full value
        Column("payload_truncated", Boolean, nullable=False, server_default=text("false")),
        Column("error", Text, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("replayed_at", DateTime(timezone=True)),
    )
    audit_log_table(metadata)  # every service's hash-chained audit trail lives beside its messaging tables
    return MessagingTables(outbox=outbox, inbox=inbox, dead_letters=dead_letters)


async def add_event(session: AsyncSession, tables: MessagingTables, topic: str, event: Envelope) -> None:
    """Write the event in the caller's transaction; the relay publishes it after commit (woken by it).

    Written inside a trace, the envelope carries the current W3C context as the CloudEvents
    ``traceparent`` / ``tracestate`` attributes (common/tracing.py): the consumers continue that trace.
    """
    mark(session, "outbox")
    envelope = event.model_dump(mode="json")
    context = trace_attributes()
    if context:  # the current context replaces any the event came with, tracestate included
        envelope.pop("tracestate", None)
        envelope.update(context)
    for name in TRACE_ATTRIBUTES:  # absent, not null: the contract (/asyncapi.json) types them as strings
        if envelope.get(name) is None:
            envelope.pop(name, None)
    await session.execute(
        insert(tables.outbox).values(
            event_id=event.id,
            topic=topic,
            key=event.subject,
            envelope=envelope,
        )
    )


async def claim_inbox(session: AsyncSession, tables: MessagingTables, consumer: str, event_id) -> bool:
    """Record the event as handled by `consumer`; False when it already was (a redelivery)."""
    result = await session.execute(
        pg_insert(tables.inbox)
        .values(consumer=consumer, event_id=event_id)
        .on_conflict_do_nothing()
        .returning(text("1"))
    )
    return result.first() is not None


async def claim_inbox_many(session: AsyncSession, tables: MessagingTables, consumer: str, event_ids: list) -> set:
    """Record many events as handled by `consumer` in one statement; returns the ids not seen before."""
    if not event_ids:
        return set()
    result = await session.execute(
        pg_insert(tables.inbox)
        .values([{"consumer": consumer, "event_id": event_id} for event_id in event_ids])
        .on_conflict_do_nothing()
        .returning(tables.inbox.c.event_id)
    )
    return set(result.scalars().all())
