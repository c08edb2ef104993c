"""What the benchmark reads from the machine: the stack's processes (CPU, peak memory), PostgreSQL's
transaction counters, and a description of the machine."""

from __future__ import annotations

import asyncio
import os
import platform
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import psutil

from tools.stack import PROCESSES

# The stand-ins and the infrastructure are reported apart from the application's own processes.
STAND_INS = ("sandbox", "kafka", "postgres", "bench_client")
MODULE_NAMES = {module: name for name, module in PROCESSES}


def _cpu_s(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM: the process's peak resident set since it started (Linux), else its current RSS."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        return psutil.Process(pid).memory_info().rss / 2**20
    except psutil.Error:
        return None


def discover_pids(database_url: str) -> dict[str, list[int]]:
    """The uvicorn processes of a running stack, found by the DATABASE_URL they were started with
    (tools.stack and ``make run`` give every process the same one; each stack has its own database).
    Replicas of one process are listed together. Needs permission to read their environment."""
    found: dict[str, list[int]] = {}
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if "uvicorn" not in " ".join(cmdline[:3]):
            continue
        name = next((MODULE_NAMES[a] for a in cmdline if a in MODULE_NAMES), None)
        if name is None:
            continue
        try:
            if proc.environ().get("DATABASE_URL") != database_url:
                continue
        except psutil.Error:
            continue
        found.setdefault(name, []).append(proc.info["pid"])
    return found


def parse_pids(text: str) -> dict[str, list[int]]:
    """``gateway=123,intake=456,intake=457`` → {"gateway": [123], "intake": [456, 457]}."""
    out: dict[str, list[int]] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, pid = part.partition("=")
        out.setdefault(name.strip(), []).append(int(pid))
    return out


@dataclass
class ProcessWatch:
    """CPU seconds and peak memory of named processes between :meth:`start` and :meth:`stop`.

    ``postgres_database``: also the PostgreSQL backends serving that database on this machine (found by
    their process title, ``postgres: <user> <database> ...``); a backend that exits keeps the CPU it had
    at the last sample (every ``interval`` s)."""

    pids: dict[str, list[int]]
    postgres_database: str | None = None
    interval: float = 0.5
    _procs: dict[str, list[psutil.Process]] = field(default_factory=dict)
    _start: dict[int, float] = field(default_factory=dict)
    _last: dict[int, float] = field(default_factory=dict)
    _pg: dict[int, psutil.Process] = field(default_factory=dict)
    _pg_start: dict[int, float] = field(default_factory=dict)
    _pg_last: dict[int, float] = field(default_factory=dict)
    _task: asyncio.Task | None = None
    cpu_s: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)

    def _scan_pg(self, first: bool) -> None:
        if not self.postgres_database:
            return
        marker = f" {self.postgres_database} "
        for proc in psutil.process_iter(["pid", "name", "cmdline"]):
            if proc.info["pid"] in self._pg or not (proc.info.get("name") or "").startswith("postgres"):
                continue
            title = " ".join(proc.info.get("cmdline") or [])
            if title.startswith("postgres:") and marker in title + " ":
                try:
                    cpu = _cpu_s(proc)
                except psutil.Error:
                    continue
                self._pg[proc.pid] = proc
                # A backend that appears during the run did all of its work in the run.
                self._pg_start[proc.pid] = cpu if first else 0.0
                self._pg_last[proc.pid] = cpu

    def _sample(self) -> None:
        for procs in self._procs.values():
            for proc in procs:
                try:
                    self._last[proc.pid] = _cpu_s(proc)
                except psutil.Error:
                    pass
        self._scan_pg(first=False)
        for pid, proc in list(self._pg.items()):
            try:
                self._pg_last[pid] = _cpu_s(proc)
            except psutil.Error:
                del self._pg[pid]  # exited: keep its last sample

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await asyncio.to_thread(self._sample)

    def start(self) -> None:
        me = psutil.Process()
        self._procs = {"bench_client": [me]}
        for name, pids in self.pids.items():
            procs = []
            for pid in pids:
                try:
                    procs.append(psutil.Process(pid))
                except psutil.Error:
                    pass
            if procs:
                self._procs[name] = procs
        for procs in self._procs.values():
            for proc in procs:
                try:
                    self._start[proc.pid] = self._last[proc.pid] = _cpu_s(proc)
                except psutil.Error:
                    pass
        self._scan_pg(first=True)
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await asyncio.to_thread(self._sample)
        for name, procs in self._procs.items():
            self.cpu_s[name] = sum(self._last.get(p.pid, 0.0) - self._start.get(p.pid, 0.0) for p in procs)
            if name != "bench_client":
                peaks = [peak_rss_mb(p.pid) for p in procs]
                self.peak_rss_mb[name] = sum(x for x in peaks if x is not None)
        if self.postgres_database:
            self.cpu_s["postgres"] = sum(self._pg_last[pid] - self._pg_start.get(pid, 0.0) for pid in self._pg_last)


# --- PostgreSQL counters ------------------------------------------------------------------------


@dataclass(frozen=True)
class PgCounters:
    at: float
    xid: int  # next transaction id: advances once per transaction that writes (cluster-wide)
    commits: int  # pg_stat_database.xact_commit of this database (read-only transactions included)
    wal_bytes: int


async def pg_counters(conn: asyncpg.Connection) -> PgCounters:
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    row = await conn.fetchrow(
        "SELECT txid_snapshot_xmax(txid_current_snapshot()) AS xid,"
        " (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()) AS commits,"
        " pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS wal"
    )
    return PgCounters(time.monotonic(), int(row["xid"]), int(row["commits"] or 0), int(row["wal"]))


# --- the machine --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = None
    return {
        "cores": os.cpu_count(),
        "cores_usable": affinity,
        "cpu_model": model or platform.processor() or None,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
