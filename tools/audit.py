"""``python -m tools.audit verify [--service X]``: check each service's audit chain (common/audit.py).

Reads ``DATABASE_URL``. For every service (or the one named) it walks ``<service>.audit_log`` in id
order, recomputing each row's hash and checking that each row names the previous row's hash.
Exit 0 with "N rows, chain intact (head <hash>)" per service; exit 1 naming the first broken link
(service, id, what was expected and what was found). Keep the printed head hashes somewhere else
(a ticket, the ops log): rows cut off the end of a chain can only be noticed against them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from common.audit import GENESIS, BrokenLink, audit_table, verify_chain
from tools.pg import to_sqlalchemy_url

SERVICES = ("intake", "eligibility", "decision", "payment_queue", "notifier")
BATCH = 5000


async def verify_service(engine: AsyncEngine, service: str) -> tuple[int, str, BrokenLink | None] | None:
    """(rows, head hash, first broken link) of one service's chain; None when it has no audit_log."""
    async with engine.connect() as conn:
        # One snapshot for the whole walk, so rows appended meanwhile do not shift the batches.
        await conn.execution_options(isolation_level="REPEATABLE READ")
        exists = await conn.scalar(text("SELECT to_regclass(:t)"), {"t": f'"{service}".audit_log'})
        if exists is None:
            return None
        table = audit_table(service)
        total, head, last_id = 0, GENESIS, 0
        while True:
            rows = (
                await conn.execute(select(table).where(table.c.id > last_id).order_by(table.c.id).limit(BATCH))
            ).mappings().all()
            if not rows:
                return total, head, None
            count, head, broken = verify_chain(rows, head)
            total += count
            if broken:
                return total, head, broken
            last_id = rows[-1]["id"]


async def verify(database_url: str, services: Sequence[str]) -> int:
    engine = create_async_engine(to_sqlalchemy_url(database_url), hide_parameters=True)
    status = 0
    try:
        for service in services:
            result = await verify_service(engine, service)
            if result is None:
                print(f"{service}: no audit_log table (migrations not run?)")
                continue
            rows, head, broken = result
            if broken:
                print(f"{service}: chain broken at {broken} (row {rows} of the walk)")
                status = 1
            else:
                print(f"{service}: {rows} rows, chain intact (head {head})")
    finally:
        await engine.dispose()
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.audit", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="walk the audit chains and name the first broken link")
    check.add_argument("--service", choices=SERVICES, help="only this service's chain")
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        print("DATABASE_URL is not set (postgresql+asyncpg://...).", file=sys.stderr)
        return 2
    return asyncio.run(verify(database_url, [args.service] if args.service else SERVICES))


if __name__ == "__main__":
    sys.exit(main())
