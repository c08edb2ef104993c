"""Each service's Alembic history builds exactly its models, and can go down and up again
(architecture.md guarantee 5: each service owns its schema and its own history)."""

from __future__ import annotations

import asyncio
import importlib

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from common.db import make_engine
from common.migrations import alembic_config, upgrade_head

SERVICES = ["intake", "eligibility", "decision", "payment_queue", "notifier"]


async def _drift(url: str, service: str) -> list:
    metadata = importlib.import_module(f"services.{service}.adapters.orm").metadata
    # As the migrations run: no search_path, so reflected tables carry their schema like the models do.
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:

            def diff(sync_conn):
                ctx = MigrationContext.configure(
                    sync_conn,
                    opts={
                        "include_schemas": True,
                        "include_name": lambda name, type_, parent: type_ != "schema" or name == service,
                        "version_table_schema": service,
                    },
                )
                return compare_metadata(ctx, metadata)

            return await conn.run_sync(diff)
    finally:
        await engine.dispose()


async def _tables(url: str, service: str) -> set[str]:
    engine = make_engine(url, schema=service)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": service})
            return {r[0] for r in rows}
    finally:
        await engine.dispose()


@pytest.mark.parametrize("service", SERVICES)
async def test_history_matches_models_and_goes_down_and_up(fresh_database, service):
    url = fresh_database()
    await asyncio.to_thread(upgrade_head, service, url)
    assert await _drift(url, service) == []  # no model change without its migration
    assert {"outbox", "inbox", "dead_letters", "alembic_version"} <= await _tables(url, service)

    await asyncio.to_thread(command.downgrade, alembic_config(service, url), "base")
    assert await _tables(url, service) == {"alembic_version"}
    await asyncio.to_thread(upgrade_head, service, url)
    await asyncio.to_thread(upgrade_head, service, url)  # a second replica starting finds nothing to do
    assert await _drift(url, service) == []


async def test_schemas_are_separate(fresh_database):
    """No service's tables land in another's schema."""
    url = fresh_database()
    for service in SERVICES:
        await asyncio.to_thread(upgrade_head, service, url)
    for service in SERVICES:
        assert "outbox" in await _tables(url, service)
    assert await _tables(url, "public") == set()
