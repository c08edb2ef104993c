"""Alembic glue: each service has its own history and version table in its own schema.

`python -m common.migrations <service> upgrade head` and
`python -m common.migrations <service> revision --autogenerate -m "..."`
work against DATABASE_URL. Services call `upgrade_head` before serving.
"""

from __future__ import annotations

import asyncio
import sys
import zlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import create_async_engine

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


def alembic_config(service: str, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    cfg.attributes["database_url"] = database_url
    cfg.attributes["schema"] = service
    return cfg


def upgrade_head(service: str, database_url: str) -> None:
    """Blocking; call through asyncio.to_thread from async code."""
    command.upgrade(alembic_config(service, database_url), "head")


def run_env(target_metadata: MetaData) -> None:
    """Body of every service's migrations/env.py."""
    cfg = context.config
    schema = cfg.attributes["schema"]
    url = cfg.attributes["database_url"]

    def do_run(connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=lambda name, type_, parent: type_ != "schema" or name == schema,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url, hide_parameters=True)  # no personal data in SQL errors
        try:
            async with engine.connect() as conn:
                # Replicas starting together: one migrates, the others wait, then find nothing to do.
                await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": zlib.crc32(f"migrate:{schema}".encode())})
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
                await conn.commit()
                await conn.run_sync(do_run)
                await conn.commit()
        finally:
            await engine.dispose()

    asyncio.run(main())


def main(argv: list[str]) -> None:
    import os

    service, verb, *rest = argv
    cfg = alembic_config(service, os.environ["DATABASE_URL"])
    if verb == "upgrade":
        command.upgrade(cfg, rest[0] if rest else "head")
    elif verb == "downgrade":
        command.downgrade(cfg, rest[0])
    elif verb == "revision":
        message = rest[rest.index("-m") + 1] if "-m" in rest else "change"
        command.revision(cfg, message=message, autogenerate="--autogenerate" in rest)
    else:
        raise SystemExit(f"unknown verb {verb!r}: use upgrade, downgrade or revision")


if __name__ == "__main__":
    main(sys.argv[1:])
