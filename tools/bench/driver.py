"""The benchmark's core: seed the registries, file the cases through the gateway, sign what waits for a
specialist, wait until every case is final, and measure (tools.bench.report turns it into figures).

Used by ``python -m tools.bench`` (which starts or finds the stack) and by tests/e2e/test_bench_smoke.py
(against the e2e ``stack`` fixture)::

    result = await run_bench(Target(gateway_url, sandbox_url, database_url, pids), BenchConfig(cases=6, concurrency=6))

What it does to the stack besides filing cases (so the figures can be read):
* waiting is watched in the database (one read-only ``SELECT id, status FROM intake.applications`` per
  ``poll_s`` for all cases in flight), not by polling the API: every API read writes an audit row
  (common/audit.py) and would add load and transactions that no case needs;
* once a case is final, one ``GET /api/v1/applications/{id}`` (role ops) gives its history: the
  latencies come from the application's own timestamps;
* a case in ``awaiting_signature`` is signed at once by a specialist through the API
  (``GET /api/v1/decisions?status=awaiting_signature``, then ``POST /api/v1/decisions/{id}/sign`` with the
  proposed outcome), as tests/e2e/test_survivor_flow.py does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any

import asyncpg
import httpx

from tools.bench import report
from tools.bench.ceiling import measure_ceiling
from tools.bench.probes import ProcessWatch, machine, pg_counters
from tools.bench.scenarios import BENEFITS, FINAL, Case, build_cases, fixtures_of
from tools.pg import to_asyncpg_dsn

FIXTURE_CHUNK = 100  # cases per POST /sandbox/fixtures
POOL = 8  # operators, specialists and ops readers (each subject has its own gateway rate limit)
SCHEMAS = ("intake", "eligibility", "decision", "payment_queue", "notifier")


@dataclass
class Target:
    """A running stack: where its gateway, sandbox and database are, and (optionally) its processes."""

    gateway_url: str
    sandbox_url: str
    database_url: str
    pids: dict[str, list[int]] | None = None
    mode: str = "external"
    database: str = "given"
    # Count the CPU of the PostgreSQL backends serving this database (found by their process title).
    postgres_cpu: bool = True
    # True when nothing else writes to this PostgreSQL cluster (transaction ids are cluster-wide).
    private_cluster: bool = False


@dataclass
class BenchConfig:
    cases: int = 400
    concurrency: int = 40  # closed loop: cases in flight (submitted, not final)
    rate: float | None = None  # open loop: arrivals per second (then concurrency is only the ceiling replay's)
    arrivals: str = "poisson"  # or "fixed"
    mix: dict[str, float] | None = None
    seed: int | None = None
    poll_s: float = 0.25
    timeout_s: float = 180.0
    idle_s: float = 2.0  # idle baseline of the database counters before the load
    settle_s: float = 2.0  # after the last case: let trailing work (notices) land in the counters
    ceiling_seconds: float = 10.0  # 0: no ceiling replay
    progress: str = "auto"  # auto, bar, lines, off
    note: str = ""


class Failed(Exception):
    pass


class Runner:
    def __init__(self, target: Target, config: BenchConfig, cases: list[Case], out: IO[str]) -> None:
        self.t = target
        self.c = config
        self.cases = cases
        self.out = out
        limit = (config.concurrency if config.rate is None else max(64, int(config.rate * 10))) + 2 * POOL + 8
        self.gw = httpx.AsyncClient(
            base_url=target.gateway_url, timeout=60, trust_env=False,
            limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
        )
        self.sandbox = httpx.AsyncClient(base_url=target.sandbox_url, timeout=120, trust_env=False)
        self.tokens: dict[tuple[str, str], str] = {}
        self.http = {"requests": 0, "retried_429": 0, "retried_errors": 0, "bench_reads": 0, "bench_list_reads": 0}
        self.tracked: dict[str, tuple[Case, asyncio.Future[str]]] = {}
        self.pending_sign: dict[str, tuple[Case, float]] = {}
        self.signing: set[str] = set()
        self.sign_gate = asyncio.Semaphore(POOL)
        self.observer_queries = 0
        self.first_submit: float | None = None
        self.in_flight = 0
        self.peak_in_flight = 0
        self.done = 0
        self.failed = 0
        self._rr = itertools.count()
        self._db: asyncpg.Connection | None = None
        self._sign_tasks: set[asyncio.Task] = set()
        self._db_lock = asyncio.Lock()  # the watcher and the signer share one connection
        self.errors: Counter[str] = Counter()
        self.new_dead_letters: dict[str, int] = {}

    # ------------------------------------------------------------------ http

    async def call(self, method: str, url: str, *, headers: dict[str, str] | None = None, json_body: Any = None,
                   params: dict[str, Any] | None = None, attempts: int = 30) -> tuple[httpx.Response, float]:
        """One request; 429 waits for Retry-After and transport errors back off, then try again.
        Returns the answer and the duration of the attempt that got it (ms)."""
        for attempt in range(attempts):
            started = time.perf_counter()
            try:
                r = await self.gw.request(method, url, headers=headers, json=json_body, params=params)
            except httpx.TransportError:
                self.http["retried_errors"] += 1
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(min(5.0, 0.2 * 2**min(attempt, 5)))
                continue
            elapsed = (time.perf_counter() - started) * 1000
            self.http["requests"] += 1
            if r.status_code == 429 and attempt < attempts - 1:
                self.http["retried_429"] += 1
                await asyncio.sleep(min(5.0, float(r.headers.get("retry-after", "1") or 1)) + random.random() * 0.2)
                continue
            return r, elapsed
        raise AssertionError("unreachable")

    async def token(self, role: str, sub: str) -> str:
        key = (role, sub)
        if key not in self.tokens:
            r, _ = await self.call("POST", "/api/v1/dev/token", json_body={"role": role, "sub": sub})
            if r.status_code != 200:
                raise Failed(f"dev token for {role} failed: {r.status_code} {r.text[:200]} (is the stack in dev mode?)")
            self.tokens[key] = r.json()["access_token"]
        return self.tokens[key]

    async def auth(self, role: str, sub: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(role, sub)}"}

    def pooled(self, role: str) -> str:
        return f"bench-{role}-{next(self._rr) % POOL + 1}"

    # ------------------------------------------------------------ preparing

    async def seed(self) -> None:
        for i in range(0, len(self.cases), FIXTURE_CHUNK):
            r = await self.sandbox.post("/sandbox/fixtures", json=fixtures_of(self.cases[i:i + FIXTURE_CHUNK]))
            if r.status_code >= 300:
                raise Failed(f"POST /sandbox/fixtures: {r.status_code} {r.text[:500]}")

    async def mint_tokens(self) -> None:
        wanted = {(c.role, c.sub) for c in self.cases}
        wanted |= {(role, f"bench-{role}-{i}") for role in ("specialist", "ops") for i in range(1, POOL + 1)}
        gate = asyncio.Semaphore(8)

        async def one(role: str, sub: str) -> None:
            async with gate:
                await self.token(role, sub)

        await asyncio.gather(*(one(role, sub) for role, sub in sorted(wanted)))

    # ------------------------------------------------------------ one case

    async def drive(self, case: Case) -> None:
        res = case.results
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            headers = await self.auth(case.role, case.sub) | {"Idempotency-Key": f"bench-{uuid.uuid4()}"}
            if self.first_submit is None:
                self.first_submit = time.monotonic()
            res["submitted_mono"] = time.monotonic()
            try:
                r, ms = await self.call("POST", "/api/v1/applications", headers=headers, json_body=case.body)
            except httpx.HTTPError as exc:
                res["failure"] = f"post_error:{type(exc).__name__}"
                return
            res["post_ms"] = ms
            if r.status_code != 202:
                res["failure"] = f"post_{r.status_code}"
                res["failure_detail"] = r.text[:300]
                return
            app_id = r.json()["id"]
            res["app_id"] = app_id
            status = r.json()["status"]
            if status not in FINAL:
                fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
                self.tracked[app_id] = (case, fut)
                try:
                    status = await asyncio.wait_for(fut, self.c.timeout_s)
                except asyncio.TimeoutError:
                    res["failure"] = f"timeout_in_{res.get('last_status', 'unknown')}"
                    return
                finally:
                    self.tracked.pop(app_id, None)
                    self.pending_sign.pop(app_id, None)
                if status not in FINAL:  # awaiting_documents or a failed signature
                    res.setdefault("failure", f"stuck_in_{status}")
                    return
            res["final_mono"] = time.monotonic()
            try:
                await self.fetch_final(case)
            except httpx.HTTPError as exc:
                res["failure"] = f"read_error:{type(exc).__name__}"

        finally:
            self.in_flight -= 1
            if res.get("failure"):
                self.failed += 1
            else:
                self.done += 1

    async def fetch_final(self, case: Case) -> None:
        res = case.results
        self.http["bench_reads"] += 1
        r, _ = await self.call("GET", f"/api/v1/applications/{res['app_id']}", headers=await self.auth("ops", self.pooled("ops")))
        if r.status_code != 200:
            res["failure"] = f"read_{r.status_code}"
            return
        app = r.json()
        res["status"] = app["status"]
        res["history"] = [(h["status"], h["at"]) for h in app["history"]]
        res["reasons"] = [x.get("code") for x in app.get("reasons") or []]
        expected_ok = {"paid": ("payment_queued", "paid"), "refused": ("refused",), "rejected": ("rejected",)}[case.expected]
        if app["status"] not in expected_ok:
            res["failure"] = f"unexpected_{app['status']}"
            res["failure_detail"] = f"{case.scenario} expected {case.expected}, reasons {res['reasons']}"

    # ------------------------------------------------------------ watching

    def _complain(self, where: str, exc: BaseException) -> None:
        self.errors[where] += 1
        if self.errors[where] in (1, 10, 100):
            self.out.write(f"bench: {where}: {type(exc).__name__}: {str(exc)[:200]} (carrying on)\n")

    async def observe(self) -> None:
        while True:
            await asyncio.sleep(self.c.poll_s)
            try:
                await self._observe_once()
            except (asyncpg.PostgresError, OSError) as exc:
                self._complain("watching the cases", exc)

    async def sign_loop(self) -> None:
        while True:
            await asyncio.sleep(self.c.poll_s)
            try:
                await self._sign_once()
            except (asyncpg.PostgresError, OSError, httpx.HTTPError, KeyError, ValueError) as exc:
                self._complain("looking for drafts", exc)

    async def dead_letters(self) -> dict[str, int]:
        """Dead letters per service (each schema's ``dead_letters``): a case that stalls usually left one."""
        assert self._db is not None
        counts: dict[str, int] = {}
        async with self._db_lock:
            for schema in SCHEMAS:
                try:
                    counts[schema] = int(await self._db.fetchval(f'SELECT count(*) FROM "{schema}".dead_letters'))
                except asyncpg.PostgresError:
                    pass
                self.observer_queries += 1
        return counts

    async def watch_dead_letters(self, before: dict[str, int]) -> None:
        told = dict(before)
        while True:
            await asyncio.sleep(5.0)
            try:
                now = await self.dead_letters()
            except (asyncpg.PostgresError, OSError) as exc:
                self._complain("counting dead letters", exc)
                continue
            for schema, n in now.items():
                if n > told.get(schema, 0):
                    self.out.write(f"bench: {n - before.get(schema, 0)} new dead letter(s) in {schema}: cases will stall;"
                                   f" see GET /api/v1/ops/{schema}/dead-letters or its log\n")
                    told[schema] = n

    async def _observe_once(self) -> None:
        assert self._db is not None
        if not self.tracked:
            return
        ids = list(self.tracked)
        async with self._db_lock:
            rows = await self._db.fetch("SELECT id::text AS id, status FROM intake.applications WHERE id = ANY($1::uuid[])", ids)
        self.observer_queries += 1
        now = time.monotonic()
        for row in rows:
            entry = self.tracked.get(row["id"])
            if entry is None:
                continue
            case, fut = entry
            status = row["status"]
            case.results["last_status"] = status
            if fut.done():
                continue
            if status in FINAL:
                fut.set_result(status)
            elif status == "awaiting_signature":
                if row["id"] not in self.pending_sign and row["id"] not in self.signing and "signed" not in case.results:
                    self.pending_sign[row["id"]] = (case, now)
                    case.results["seen_awaiting_mono"] = now
            elif status == "awaiting_documents":
                case.results["failure"] = "awaiting_documents"  # the benchmark attaches no documents
                fut.set_result(status)

    async def _sign_once(self) -> None:
        assert self._db is not None
        waiting = {k: v for k, v in self.pending_sign.items() if k not in self.signing}
        if not waiting:
            return
        spec = self.pooled("specialist")
        self.http["bench_reads"] += 1
        self.http["bench_list_reads"] += 1
        r, _ = await self.call("GET", "/api/v1/decisions", headers=await self.auth("specialist", spec),
                               params={"status": "awaiting_signature", "limit": 500})
        drafts: dict[str, dict[str, Any]] = {}
        if r.status_code == 200:
            drafts = {d["application_id"]: d for d in r.json()["items"] if d["application_id"] in waiting}
        # A busy queue (a shared stack) may not list ours among its 500 most urgent: look them up directly.
        missing = [k for k in waiting if k not in drafts]
        if missing:
            async with self._db_lock:
                rows = await self._db.fetch(
                    "SELECT id::text AS id, application_id::text AS application_id, proposed_outcome, reasons::text AS reasons,"
                    " amount_known FROM decision.decisions WHERE application_id = ANY($1::uuid[]) AND status = 'awaiting_signature'",
                    missing,
                )
            self.observer_queries += 1
            for row in rows:
                drafts[row["application_id"]] = {
                    "id": row["id"], "proposed_outcome": row["proposed_outcome"],
                    "reasons": json.loads(row["reasons"] or "[]"), "amount_known": row["amount_known"],
                }
        for app_id, draft in drafts.items():
            case, _ = waiting[app_id]
            self.signing.add(app_id)
            task = asyncio.get_running_loop().create_task(self.sign(app_id, case, draft))
            self._sign_tasks.add(task)
            task.add_done_callback(self._sign_tasks.discard)

    async def sign(self, app_id: str, case: Case, draft: dict[str, Any]) -> None:
        res = case.results
        outcome = draft.get("proposed_outcome") or draft.get("outcome") or "assign"
        body: dict[str, Any] = {"outcome": outcome, "reasons": []}
        if outcome == "refuse":
            body["reasons"] = [{"code": x["code"]} | ({"subject": x["subject"]} if x.get("subject") else {}) for x in draft.get("reasons") or []]
        if draft.get("amount_known") is False:
            body["amount_kzt"] = 90_000  # a work injury: the specialist enters the amount (facts.md Amounts)
        try:
            async with self.sign_gate:
                spec = self.pooled("specialist")
                r, ms = await self.call("POST", f"/api/v1/decisions/{draft['id']}/sign", json_body=body,
                                        headers=await self.auth("specialist", spec))
        except httpx.HTTPError as exc:
            r, ms = None, 0.0
            res["sign_error"] = type(exc).__name__
        finally:
            self.signing.discard(app_id)
            self.pending_sign.pop(app_id, None)
        if r is not None and r.status_code in (200, 409):  # 409: signed already
            res["signed"] = True
            res["sign_ms"] = ms
            return
        res["failure"] = f"sign_{r.status_code if r is not None else 'error'}"
        res["failure_detail"] = r.text[:300] if r is not None else res.get("sign_error")
        entry = self.tracked.get(app_id)
        if entry and not entry[1].done():
            entry[1].set_result("sign_failed")

    # ------------------------------------------------------------ progress

    async def progress(self, mode: str) -> None:
        total = len(self.cases)
        started = time.monotonic()
        every = 0.5 if mode == "bar" else 5.0
        last = 0.0
        while True:
            await asyncio.sleep(every)
            now = time.monotonic()
            finished = self.done + self.failed
            rate = self.done / (now - (self.first_submit or started)) if self.first_submit else 0.0
            waiting = sum(1 for case, f in self.tracked.values() if case.results.get("last_status") == "awaiting_signature")
            if mode == "bar":
                width = 30
                filled = int(width * finished / total) if total else width
                line = (f"\r[{'#' * filled}{'.' * (width - filled)}] {finished}/{total} final · {self.in_flight} in flight"
                        f" · {waiting} awaiting signature · {self.failed} failed · {rate:5.1f} cases/s · {now - started:5.0f} s ")
                self.out.write(line)
            elif now - last >= every - 0.01:
                self.out.write(f"bench: {finished}/{total} final, {self.in_flight} in flight, {waiting} awaiting signature,"
                               f" {self.failed} failed, {rate:.1f} cases/s, {now - started:.0f} s\n")
                last = now
            self.out.flush()

    # ------------------------------------------------------------ the load

    async def load(self) -> None:
        if self.c.rate is None:
            queue = iter(self.cases)

            async def worker() -> None:
                for case in queue:
                    await self.drive(case)

            await asyncio.gather(*(worker() for _ in range(max(1, self.c.concurrency))))
        else:
            rng = random.Random((self.c.seed or 0) + 1)
            tasks = []
            start = time.monotonic()
            due = 0.0
            for case in self.cases:
                delay = start + due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.get_running_loop().create_task(self.drive(case)))
                due += rng.expovariate(self.c.rate) if self.c.arrivals == "poisson" else 1.0 / self.c.rate
            await asyncio.gather(*tasks)


def _progress_mode(requested: str, out: IO[str]) -> str:
    import os

    if requested != "auto":
        return requested
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return "bar" if (hasattr(out, "isatty") and out.isatty() and not ci) else "lines"


async def run_bench(target: Target, config: BenchConfig, *, out: IO[str] | None = None) -> dict[str, Any]:
    """Run the benchmark against ``target``; returns the result document (tools.bench.report.KEYS and more)."""
    out = out or sys.stderr
    seed = config.seed if config.seed is not None else random.randrange(2**31)
    config.seed = seed
    started_at = datetime.now(timezone.utc)
    mach = machine()
    cases = build_cases(config.cases, seed=seed, weights=config.mix)
    runner = Runner(target, config, cases, out)
    say = lambda msg: (out.write(msg + "\n"), out.flush())  # noqa: E731
    db = await asyncpg.connect(to_asyncpg_dsn(target.database_url))
    counters_conn = await asyncpg.connect(to_asyncpg_dsn(target.database_url))
    runner._db = db
    tasks: list[asyncio.Task] = []
    watch = None
    try:
        say(f"bench: seeding the registries for {len(cases)} cases (seed {seed}) and getting tokens ...")
        await runner.seed()
        await runner.mint_tokens()
        say(f"bench: measuring the idle database for {config.idle_s:.0f} s ...")
        idle0 = await pg_counters(counters_conn)
        await asyncio.sleep(config.idle_s)
        idle1 = await pg_counters(counters_conn)

        pids = dict(target.pids or {})
        watch = ProcessWatch(pids, postgres_database=db_name(target.database_url) if target.postgres_cpu else None)
        loop_kind = f"closed loop, {config.concurrency} in flight" if config.rate is None else (
            f"open loop, {config.rate:g}/s {config.arrivals} arrivals")
        say(f"bench: filing {len(cases)} cases ({loop_kind}) ...")
        letters_before = await runner.dead_letters()
        runner.observer_queries = 0
        start_counters = await pg_counters(counters_conn)
        watch.start()
        mode = _progress_mode(config.progress, out)
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(runner.observe()), loop.create_task(runner.sign_loop()),
                 loop.create_task(runner.watch_dead_letters(letters_before))]
        if mode != "off":
            tasks.append(loop.create_task(runner.progress(mode)))
        await runner.load()
        load_end = time.monotonic()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        tasks = []
        if mode == "bar":
            out.write("\n")
        await asyncio.sleep(config.settle_s)
        end_counters = await pg_counters(counters_conn)
        await watch.stop()
        letters_after = await runner.dead_letters()
        runner.new_dead_letters = {k: v - letters_before.get(k, 0) for k, v in letters_after.items() if v > letters_before.get(k, 0)}
        say(f"bench: {runner.done} cases final, {runner.failed} failed, in {load_end - (runner.first_submit or load_end):.1f} s")

        db_use = transactions_per_case(idle0, idle1, start_counters, end_counters, runner, cases)
        ceiling = None
        if config.ceiling_seconds > 0 and db_use["tx_per_case"]:
            # The same concurrency as the load: the cases in flight (closed loop), or the most that were (open loop).
            width = config.concurrency if config.rate is None else max(1, runner.peak_in_flight)
            say(f"bench: ceiling: replaying {db_use['tx_per_case']:.0f} small write transactions per case,"
                f" {width} at a time, for {config.ceiling_seconds:.0f} s ...")
            try:
                ceiling = await measure_ceiling(target.database_url, tx_per_case=db_use["tx_per_case"],
                                                concurrency=width, seconds=config.ceiling_seconds)
            except Exception as exc:  # e.g. the server's max_connections: the run's own figures still count
                say(f"bench: the ceiling replay failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
                ceiling = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}", "concurrency": width}
        return report.assemble(
            target=target, config=config, cases=cases, runner=runner, watch=watch, db_use=db_use, ceiling=ceiling,
            started_at=started_at, machine=mach,
        )
    finally:
        for task in [*tasks, *runner._sign_tasks]:
            task.cancel()
        await db.close()
        await counters_conn.close()
        await runner.gw.aclose()
        await runner.sandbox.aclose()


def db_name(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path.lstrip("/")


def transactions_per_case(idle0: Any, idle1: Any, start: Any, end: Any, runner: Runner, cases: list[Case]) -> dict[str, Any]:
    """The transactions a case needs, from PostgreSQL's counters over the run, less the idle rate (measured
    just before) and what the benchmark itself caused.

    * write transactions: transaction ids used (a transaction gets one when it first writes). The counter
      is cluster-wide, so it is exact only on a cluster private to the run (embedded mode's default);
    * commits: pg_stat_database.xact_commit of this database only, read-only transactions included.

    The benchmark's own reads are taken off: each ``GET /api/v1/applications/{id}`` is a read transaction
    and an audit row (common/audit.py: a short write transaction of its own), each list of drafts an audit
    row; each of its database queries is a read-only commit. The ceiling replays ``tx_per_case``: the write
    transactions where they are exact, else the commits (an upper bound, so the ceiling errs low)."""
    idle_s = max(1e-6, idle1.at - idle0.at)
    idle_xid_rate = (idle1.xid - idle0.xid) / idle_s
    idle_commit_rate = (idle1.commits - idle0.commits) / idle_s
    run_s = end.at - start.at
    n = sum(1 for c in cases if c.results.get("app_id")) or 1
    reads = runner.http["bench_reads"]
    list_reads = runner.http["bench_list_reads"]
    raw_xid = end.xid - start.xid
    writes = max(1.0, (raw_xid - idle_xid_rate * run_s - reads) / n)
    commits = (end.commits - start.commits) - idle_commit_rate * run_s - (reads - list_reads) * 2 - list_reads - runner.observer_queries
    commits_per_case = max(1.0, commits / n)
    private = runner.t.private_cluster
    return {
        "tx_per_case": round(writes if private else commits_per_case, 1),
        "tx_per_case_source": "write transactions (transaction ids; private cluster)" if private
        else "commits of this database (pg_stat_database.xact_commit; read-only included: an upper bound)",
        "write_tx_per_case": round(writes, 1) if private else None,
        "commits_per_case": round(commits_per_case, 1),
        "wal_kb_per_case": round((end.wal_bytes - start.wal_bytes) / n / 1024, 1) if private else None,
        "idle_write_tx_per_s": round(idle_xid_rate, 1),
        "idle_commits_per_s": round(idle_commit_rate, 1),
        "bench_api_reads": reads,
        "bench_db_queries": runner.observer_queries,
        "cases_counted": n,
        "seconds": round(run_s, 2),
        "private_cluster": private,
    }


__all__ = ["BENEFITS", "BenchConfig", "Target", "run_bench"]
