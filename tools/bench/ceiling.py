"""The ceiling: how many small write transactions per second this PostgreSQL commits through the
services' own driver (asyncpg under SQLAlchemy's async engine), with the benchmark's concurrency.

A synthetic replay of a case's database work: each replayed case is ``tx_per_case`` transactions in
a row (as a case moves through the services one step after another), every one small and durable like
theirs: the first inserts the case row and an outbox row; the others alternately update the case's
status with an outbox row (a state change and its event) and mark outbox rows published (the relay).
``concurrency`` cases are replayed at once, in a scratch schema that is dropped afterwards.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tools.pg import to_sqlalchemy_url

_PAYLOAD = json.dumps({"type": "kz.emaket.bench.v1", "data": {"status": "registered", "amount_kzt": 151375, "note": "x" * 200}})


async def measure_ceiling(database_url: str, *, tx_per_case: float, concurrency: int, seconds: float, max_cases: int | None = None) -> dict[str, Any]:
    """Replay cases for about ``seconds`` (or ``max_cases``); returns the commit rate and what was run."""
    per_case = max(1, round(tx_per_case))
    schema = f"bench_ceiling_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(to_sqlalchemy_url(database_url), pool_size=concurrency, max_overflow=0)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            await conn.execute(text(
                f'CREATE TABLE "{schema}".cases (id uuid PRIMARY KEY, status text NOT NULL, body jsonb NOT NULL,'
                " updated_at timestamptz NOT NULL DEFAULT now())"
            ))
            await conn.execute(text(
                f'CREATE TABLE "{schema}".outbox (id bigserial PRIMARY KEY, case_id uuid NOT NULL, payload jsonb NOT NULL,'
                " created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz)"
            ))
        insert_case = text(f'INSERT INTO "{schema}".cases (id, status, body) VALUES (:id, \'received\', CAST(:body AS jsonb))')
        insert_event = text(f'INSERT INTO "{schema}".outbox (case_id, payload) VALUES (:id, CAST(:body AS jsonb))')
        update_case = text(f'UPDATE "{schema}".cases SET status = :status, updated_at = now() WHERE id = :id')
        mark_published = text(f'UPDATE "{schema}".outbox SET published_at = now() WHERE case_id = :id AND published_at IS NULL')

        # Warm the pool (connections are opened before the clock starts, as the services' pools are).
        async def warm() -> None:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                await asyncio.sleep(0.05)

        await asyncio.gather(*(warm() for _ in range(concurrency)))

        done_tx = 0
        done_cases = 0
        started = time.perf_counter()
        deadline = started + seconds
        counter = iter(range(10**12))

        async def worker() -> None:
            nonlocal done_tx, done_cases
            while time.perf_counter() < deadline:
                n = next(counter)
                if max_cases is not None and n >= max_cases:
                    return
                case_id = uuid.uuid4()
                for step in range(per_case):
                    async with engine.begin() as conn:
                        if step == 0:
                            await conn.execute(insert_case, {"id": case_id, "body": _PAYLOAD})
                            await conn.execute(insert_event, {"id": case_id, "body": _PAYLOAD})
                        elif step % 2:
                            await conn.execute(update_case, {"id": case_id, "status": f"s{step}"})
                            await conn.execute(insert_event, {"id": case_id, "body": _PAYLOAD})
                        else:
                            await conn.execute(mark_published, {"id": case_id})
                    done_tx += 1
                done_cases += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    finally:
        try:
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            await engine.dispose()
    tx_per_s = done_tx / elapsed if elapsed > 0 else 0.0
    return {
        "ceiling_tx_per_s": round(tx_per_s, 1),
        "ceiling_cases_per_s": round(tx_per_s / max(1.0, tx_per_case), 2),
        "tx_per_case_replayed": per_case,
        "concurrency": concurrency,
        "transactions": done_tx,
        "cases_replayed": done_cases,
        "seconds": round(elapsed, 2),
        "driver": "asyncpg via SQLAlchemy async engine",
        "statements": "INSERT case + INSERT outbox; then alternately UPDATE case + INSERT outbox, UPDATE outbox (published)",
    }
