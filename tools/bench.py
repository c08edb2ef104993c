"""Benchmark: proactive burial applications end to end on the whole local stack.

`make bench` (or `python -m tools.bench --cases 200 --concurrency 20`) starts the
stack on free loopback ports with a fresh database, files N applications through
the gateway, waits for each to reach `payment_queued`, and prints figures:
request latency, time to payment, throughput, and each process's memory. It
asserts nothing about speed: the machines are shared; read the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import date, datetime

import httpx
import psutil

from common.identifiers import make_iin
from tools.mock_kafka import start_mock_kafka, stop_mock_kafka
from tools.pg import LOCAL_ADMIN_URL, create_database, drop_database, embedded_server, local_server_available, with_database
from tools.stack import PROCESSES, Stack, free_ports


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _line(label: str, values: list[float], unit: str = "ms") -> str:
    return (
        f"  {label:<34} p50 {_pct(values, 50):8.1f} {unit}   p95 {_pct(values, 95):8.1f} {unit}"
        f"   p99 {_pct(values, 99):8.1f} {unit}   max {max(values):8.1f} {unit}"
    )


async def _run(stack: Stack, cases: int, concurrency: int) -> None:
    gw = httpx.AsyncClient(base_url=stack.url("gateway"), timeout=60)
    sandbox = httpx.AsyncClient(base_url=stack.url("sandbox"), timeout=60)
    token = (await gw.post("/api/v1/dev/token", json={"role": "mobile"})).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    deceased = [make_iin(date(1938, 1, 1), "M", n) for n in range(1, cases + 1)]
    applicants = [make_iin(date(1980, 1, 1), "F", n) for n in range(1, cases + 1)]
    await sandbox.post(
        "/sandbox/fixtures",
        json={
            "persons": [{"iin": d, "last_name": "Test", "first_name": "Case", "birth_date": "1938-01-01"} for d in deceased],
            "deaths": [{"iin": d, "date": "2026-10-01"} for d in deceased],
            "recipients": [{"iin": d, "kind": "age_pension", "from": "2000-01-01", "to": None} for d in deceased],
        },
    )
    post_ms: list[float] = []
    done_s: list[float] = []
    stages: dict[str, list[float]] = {"received -> assigned": [], "assigned -> payment_queued": []}
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with gate:
            body = {
                "benefit": "burial",
                "channel": "proactive",
                "applicant": {"iin": applicants[n]},
                "phone": f"+7702{n:07d}",
                "consents": {"personal_data": True, "proactive": True},
                "bank_account": {"iban": "KZ86125KZT5004100100"},
                "deceased_iin": deceased[n],
            }
            started = time.perf_counter()
            r = await gw.post("/api/v1/applications", json=body, headers=headers | {"Idempotency-Key": str(uuid.uuid4())})
            post_ms.append((time.perf_counter() - started) * 1000)
            r.raise_for_status()
            app_id = r.json()["id"]
        # Poll gently (the poll is load too) and take the latency from the server's own status history.
        while True:
            await asyncio.sleep(1.0)
            app = (await gw.get(f"/api/v1/applications/{app_id}", headers=headers)).json()
            if app["status"] == "payment_queued":
                at = {h["status"]: datetime.fromisoformat(h["at"]) for h in app["history"]}
                done_s.append((at["payment_queued"] - at["received"]).total_seconds())
                stages["received -> assigned"].append((at["assigned"] - at["received"]).total_seconds() * 1000)
                stages["assigned -> payment_queued"].append((at["payment_queued"] - at["assigned"]).total_seconds() * 1000)
                return
            if app["status"] in ("rejected", "refused"):
                raise RuntimeError(f"case {n} ended {app['status']}")

    wall = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(cases)))
    wall = time.perf_counter() - wall
    payments = (await sandbox.get("/sandbox/payments")).json()["items"]
    await gw.aclose()
    await sandbox.aclose()

    print(f"\nBurial, proactive channel: {cases} cases, {concurrency} filed at a time, whole stack on this machine")
    print(_line("POST /api/v1/applications", post_ms))
    print(_line("received -> payment_queued (server)", [s * 1000 for s in done_s]))
    for label, values in stages.items():
        print(_line(f"  {label}", values))
    print(f"  throughput                         {cases / wall:8.1f} cases/s end to end ({wall:.1f} s wall)")
    print(f"  payment orders placed              {len(payments)} (expected {cases})")
    print("  resident memory after the run:")
    for name in stack.names:
        pid = stack.pid(name)
        if pid:
            rss = psutil.Process(pid).memory_info().rss / 2**20
            print(f"    {name:<14} {rss:7.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()

    stop_pg = None
    if local_server_available():
        admin = LOCAL_ADMIN_URL
    else:
        admin, stop_pg = embedded_server(tempfile.mkdtemp(prefix="emaket-bench-pg-"))
    name = f"emaket_bench_{uuid.uuid4().hex[:8]}"
    create_database(admin, name)
    kafka, bootstrap = start_mock_kafka()
    names = [n for n, _ in PROCESSES]
    stack = Stack(with_database(admin, name), bootstrap, ports=dict(zip(names, free_ports(len(names)))), extra_env={"LOG_LEVEL": "WARNING"})
    try:
        started = time.perf_counter()
        stack.start()
        print(f"stack started in {time.perf_counter() - started:.1f} s (database: {'local server' if stop_pg is None else 'embedded'})")
        asyncio.run(_run(stack, args.cases, args.concurrency))
    finally:
        stack.stop()
        stop_mock_kafka(kafka)
        drop_database(admin, name)
        if stop_pg:
            stop_pg()


if __name__ == "__main__":
    main()
