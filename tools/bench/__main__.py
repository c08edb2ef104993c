"""``python -m tools.bench`` (``make bench``; ``BENCH_ARGS="--cases 100 --rate 20" make bench``).

Embedded mode (default): a fresh PostgreSQL (the embedded ``pgserver``, or ``--postgres local`` for the
server on 127.0.0.1:5432) with a database of its own, the mock Kafka, and every process of the stack on
free loopback ports; all stopped and removed afterwards.

Running stack: set BENCH_GATEWAY_URL, BENCH_SANDBOX_URL and BENCH_DATABASE_URL (the DATABASE_URL the
services use; the benchmark watches cases and counts transactions there). The processes are found by that
DATABASE_URL in their environment, or named with BENCH_PIDS="gateway=123,intake=456,...". The stack must
be in dev mode (tokens from /api/v1/dev/token, fixtures in the sandbox).

Exit status 0 when every case reached the final state its scenario expects, 1 otherwise, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tools.bench.driver import BenchConfig, Target, run_bench
from tools.bench.probes import discover_pids, parse_pids
from tools.bench.report import table, write
from tools.bench.scenarios import parse_mix

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS_DIR = PROJECT_ROOT / "bench" / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tools.bench", description="Benchmark the whole pipeline (docs/performance.md).")
    p.add_argument("--cases", type=int, default=400, help="applications to file (default 400)")
    p.add_argument("--concurrency", type=int, default=40,
                   help="closed loop: cases in flight, each submitted when one ends (default 40); also the ceiling replay's concurrency")
    p.add_argument("--rate", type=float, default=None, help="open loop instead: arrivals per second")
    p.add_argument("--arrivals", choices=("poisson", "fixed"), default="poisson", help="open loop: Poisson (default) or fixed spacing")
    p.add_argument("--mix", default="burial=1,disability=1,survivor=1", help="benefit weights (default equal)")
    p.add_argument("--seed", type=int, default=None, help="the synthetic people and the arrival times (default random)")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds a case may take to become final (default 180)")
    p.add_argument("--poll", type=float, default=0.25, help="seconds between looks at the cases in flight (default 0.25)")
    p.add_argument("--ceiling-seconds", type=float, default=10.0, help="length of the database ceiling replay; 0 skips it (default 10)")
    p.add_argument("--postgres", choices=("embedded", "local"), default=os.environ.get("BENCH_POSTGRES", "embedded"),
                   help="embedded mode: the embedded pgserver (default) or the local server on 127.0.0.1:5432")
    p.add_argument("--progress", choices=("auto", "bar", "lines", "off"), default="auto",
                   help="progress bar on a terminal, a line every 5 s otherwise or with CI=true (default auto)")
    p.add_argument("--note", default=os.environ.get("BENCH_NOTE", ""), help="free text kept in the results (e.g. 'busy machine')")
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON goes (default bench/results)")
    p.add_argument("--no-save", action="store_true", help="print only, write no results file")
    args = p.parse_args(argv)
    if args.cases < 1:
        p.error("--cases must be at least 1")
    if args.concurrency < 1:
        p.error("--concurrency must be at least 1")
    if args.rate is not None and args.rate <= 0:
        p.error("--rate must be positive")
    try:
        args.mix = parse_mix(args.mix)
    except ValueError as exc:
        p.error(str(exc))
    return args


def config_of(args: argparse.Namespace) -> BenchConfig:
    return BenchConfig(
        cases=args.cases, concurrency=args.concurrency, rate=args.rate, arrivals=args.arrivals, mix=args.mix, seed=args.seed,
        poll_s=args.poll, timeout_s=args.timeout, ceiling_seconds=args.ceiling_seconds, progress=args.progress, note=args.note,
    )


def finish(result: dict, args: argparse.Namespace) -> int:
    print(table(result), flush=True)
    if not args.no_save:
        path = write(result, args.results_dir)
        print(f"\nresults: {path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path}", flush=True)
    return 0 if result["failures"]["total"] == 0 and result["applications_final"] == result["config"]["cases"] else 1


def run_external(args: argparse.Namespace) -> int:
    gateway, sandbox, database = (os.environ.get(v) for v in ("BENCH_GATEWAY_URL", "BENCH_SANDBOX_URL", "BENCH_DATABASE_URL"))
    if not (gateway and sandbox and database):
        print("To use a running stack set all three: BENCH_GATEWAY_URL, BENCH_SANDBOX_URL and BENCH_DATABASE_URL.", file=sys.stderr)
        return 2
    pids = parse_pids(os.environ["BENCH_PIDS"]) if os.environ.get("BENCH_PIDS") else discover_pids(database)
    if not pids:
        print("bench: no process of the stack found by its DATABASE_URL (set BENCH_PIDS=name=pid,...): no CPU or memory figures.",
              file=sys.stderr)
    target = Target(gateway.rstrip("/"), sandbox.rstrip("/"), database, pids or None, mode="external", database="given (BENCH_DATABASE_URL)")
    return finish(asyncio.run(run_bench(target, config_of(args))), args)


def run_embedded(args: argparse.Namespace) -> int:
    from tools.mock_kafka import start_mock_kafka, stop_mock_kafka
    from tools.pg import LOCAL_ADMIN_URL, create_database, drop_database, embedded_server, local_server_available, with_database
    from tools.stack import PROCESSES, Stack, free_ports

    stop_pg = None
    scratch = Path(tempfile.mkdtemp(prefix="emaket-bench-"))
    if args.postgres == "local":
        if not local_server_available():
            print("bench: --postgres local, but no PostgreSQL answers on 127.0.0.1:5432.", file=sys.stderr)
            return 2
        admin, private, label = LOCAL_ADMIN_URL, False, "local server (127.0.0.1:5432)"
    else:
        print("bench: starting an embedded PostgreSQL ...", file=sys.stderr, flush=True)
        admin, stop_pg = embedded_server(scratch / "pg")
        private, label = True, "embedded (pgserver, private)"
    name = f"emaket_bench_{uuid.uuid4().hex[:8]}"
    create_database(admin, name)
    kafka_log = open(scratch / "kafka.log", "ab")
    kafka, bootstrap = start_mock_kafka(stderr=kafka_log)
    names = [n for n, _ in PROCESSES]
    database_url = with_database(admin, name)
    stack = Stack(database_url, bootstrap, ports=dict(zip(names, free_ports(len(names)))), data_dir=scratch / "stack",
                  extra_env={"LOG_LEVEL": "WARNING"})
    code = 1
    try:
        started = time.perf_counter()
        stack.start()
        print(f"bench: stack started in {time.perf_counter() - started:.1f} s (logs in {stack.log_dir})", file=sys.stderr, flush=True)
        pids = {n: [pid] for n in stack.names if (pid := stack.pid(n))}
        pids["kafka"] = [kafka.pid]
        target = Target(stack.url("gateway"), stack.url("sandbox"), database_url, pids, mode="embedded", database=label,
                        private_cluster=private)
        result = asyncio.run(run_bench(target, config_of(args)))
        dead = stack.exited()
        if dead:
            print(f"bench: processes exited during the run: {dead}; see {stack.log_dir}", file=sys.stderr)
        code = finish(result, args)
    finally:
        stack.stop()
        stop_mock_kafka(kafka)
        kafka_log.close()
        drop_database(admin, name)
        if stop_pg:
            stop_pg()
        if code == 0:
            shutil.rmtree(scratch, ignore_errors=True)  # kept after a failure: the processes' logs are there
        else:
            print(f"bench: logs kept in {scratch}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if any(os.environ.get(v) for v in ("BENCH_GATEWAY_URL", "BENCH_SANDBOX_URL", "BENCH_DATABASE_URL")):
        return run_external(args)
    return run_embedded(args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
