"""intake_0002 moves live burial claims into the generic claims table, and back on downgrade."""

from __future__ import annotations

import asyncio
import uuid

from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from common.migrations import alembic_config
from tests.integration.helpers import new_deceased


async def _run(url: str, sql: str, **params) -> list:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(sql), params)
            return list(result) if result.returns_rows else []
    finally:
        await engine.dispose()


async def test_burial_claims_move_to_claims_and_back(fresh_database):
    url = fresh_database()
    config = alembic_config("intake", url)
    await asyncio.to_thread(command.upgrade, config, "intake_0001")
    app_id, deceased = uuid.uuid4(), new_deceased()
    await _run(
        url,
        "INSERT INTO intake.applications (id, benefit, channel, status, deceased_iin, body, body_sha256, "
        "idempotency_scope, received_at, due_provisional, reasons) VALUES (:id, 'burial', 'proactive', 'assigned', "
        ":d, CAST('{\"documents\": [{\"type\": \"death_certificate\"}]}' AS jsonb), 'x', 'mobile:', now(), false, "
        "CAST('[]' AS jsonb))",
        id=app_id,
        d=deceased,
    )
    await _run(url, "INSERT INTO intake.deceased_claims (deceased_iin, application_id, state) VALUES (:d, :id, 'assigned')",
               d=deceased, id=app_id)

    await asyncio.to_thread(command.upgrade, config, "head")
    assert await _run(url, "SELECT key, application_id, state FROM intake.claims") == [(f"burial:{deceased}", app_id, "assigned")]
    documents = await _run(url, "SELECT documents FROM intake.applications")
    assert documents == [([{"type": "death_certificate"}],)]

    await asyncio.to_thread(command.downgrade, config, "intake_0001")
    assert await _run(url, "SELECT deceased_iin, state FROM intake.deceased_claims") == [(deceased, "assigned")]
