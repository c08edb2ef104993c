"""How much CPU the whole stack burns doing nothing.

``python -m tools.idle_cpu --seconds 30`` starts the stack as ``make run`` does
(embedded defaults: the mock Kafka, every process of docs/design.md on free
loopback ports, a temporary data dir) on a fresh database of the local
PostgreSQL at 127.0.0.1:5432 (or an embedded one when none answers), waits
until every process is healthy and ``--settle`` seconds more, then measures the
CPU time (user + system, children included) of every stack process over
``--seconds`` and prints it as % of one core, per process and in total. The
PostgreSQL backends serving this database are counted apart (when psutil may
read them). Nothing is filed; nothing is asserted: read the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import psutil

from tools.mock_kafka import start_mock_kafka, stop_mock_kafka
from tools.pg import (
    LOCAL_ADMIN_URL,
    create_database,
    drop_database,
    embedded_server,
    local_server_available,
    to_asyncpg_dsn,
    with_database,
)
from tools.stack import PROCESSES, Stack, free_ports


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _cpu(procs: list[psutil.Process]) -> dict[int, float]:
    out: dict[int, float] = {}
    for p in procs:
        try:
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return out


async def _backend_pids(database_url: str, name: str) -> list[int]:
    conn = await asyncpg.connect(dsn=to_asyncpg_dsn(database_url))
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name
        )
        return [r["pid"] for r in rows]
    finally:
        await conn.close()


def measure(groups: dict[str, list[psutil.Process]], seconds: float) -> dict[str, float]:
    """% of one core per group over ``seconds``."""
    before = {g: _cpu(ps) for g, ps in groups.items()}
    start = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - start
    after = {g: _cpu(ps) for g, ps in groups.items()}
    return {
        g: 100.0 * sum(after[g].get(pid, t0) - t0 for pid, t0 in before[g].items()) / elapsed for g in groups
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.idle_cpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to measure (default 30)")
    parser.add_argument("--settle", type=float, default=5.0, help="wait after healthy before measuring (default 5)")
    args = parser.parse_args(argv)

    data_dir = Path(tempfile.mkdtemp(prefix="emaket-idle-"))
    stops = []
    try:
        if local_server_available():
            admin = LOCAL_ADMIN_URL
        else:
            admin, stop_pg = embedded_server(data_dir / "pg")
            stops.append(stop_pg)
        db = f"emaket_idle_{uuid.uuid4().hex[:8]}"
        create_database(admin, db)
        stops.append(lambda: drop_database(admin, db))
        database_url = with_database(admin, db)
        kafka, bootstrap = start_mock_kafka(stderr=open(data_dir / "kafka.log", "ab"))
        stops.append(lambda: stop_mock_kafka(kafka))
        names = [n for n, _ in PROCESSES]
        stack = Stack(database_url=database_url, kafka_bootstrap=bootstrap, ports=dict(zip(names, free_ports(len(names)))),
                      data_dir=data_dir, dev_mode=True)
        stops.append(stack.stop)
        stack.start()
        print(f"stack healthy; settling {args.settle:.0f} s, then measuring {args.seconds:.0f} s ...", flush=True)
        time.sleep(args.settle)
        groups: dict[str, list[psutil.Process]] = {n: _tree(stack.pid(n) or 0) for n in names}
        groups["mock kafka"] = _tree(kafka.pid)
        try:
            groups["postgres (this db)"] = [psutil.Process(p) for p in asyncio.run(_backend_pids(database_url, db))]
        except Exception as exc:  # noqa: BLE001 - optional: another user's server may hide its processes
            print(f"(PostgreSQL backends not measured: {type(exc).__name__})")
        figures = measure(groups, args.seconds)
        stack_total = sum(v for g, v in figures.items() if not g.startswith("postgres"))
        print(f"\nCPU over {args.seconds:.0f} s idle, % of one core:")
        for g, v in figures.items():
            count = f" ({len(groups[g])} backends)" if g.startswith("postgres") else ""
            print(f"  {g:<22} {v:6.2f} %{count}")
        print(f"  {'stack total':<22} {stack_total:6.2f} %   (services, gateway, sandbox, mock Kafka)")
        if "postgres (this db)" in figures:
            print(f"  {'with PostgreSQL':<22} {stack_total + figures['postgres (this db)']:6.2f} %")
        return 0
    finally:
        for stop in reversed(stops):
            try:
                stop()
            except Exception as exc:  # noqa: BLE001 - keep cleaning up
                print(f"cleanup: {type(exc).__name__}: {exc}")


if __name__ == "__main__":
    raise SystemExit(main())
