"""The benchmark's figures: the result document (JSON) and the table printed after a run."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tools.bench.scenarios import BENEFITS

# Keys every result document has (tests/e2e/test_bench_smoke.py checks them).
KEYS = (
    "applications", "throughput_per_s", "latency_ms", "latency_to_payment_ms", "post_latency_ms", "cpu_ms_per_case",
    "ceiling_tx_per_s", "efficiency", "peak_rss_mb", "failures", "final_states", "machine", "started_at", "mode",
)
APP_PROCESSES = ("gateway", "intake", "eligibility", "decision", "payment_queue", "notifier")
DECISION_STATUSES = ("assigned", "refused", "rejected")
STATUS_ORDER = ("received", "registered", "awaiting_documents", "awaiting_signature", "assigned", "refused", "rejected",
                "payment_queued", "paid")
PAID_STATUSES = ("payment_queued", "paid")


def pct(values: list[float], p: float) -> float | None:
    """Percentile with linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def dist(values: list[float]) -> dict[str, Any]:
    r = lambda v: None if v is None else round(v, 1)  # noqa: E731
    return {"p50": r(pct(values, 50)), "p95": r(pct(values, 95)), "p99": r(pct(values, 99)),
            "max": r(max(values) if values else None), "n": len(values)}


def _at(history: list[tuple[str, str]]) -> dict[str, datetime]:
    """The first time each status was reached."""
    at: dict[str, datetime] = {}
    for status, when in history:
        at.setdefault(status, datetime.fromisoformat(when.replace("Z", "+00:00")))
    return at


def _ms(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() * 1000


def assemble(*, target: Any, config: Any, cases: list[Any], runner: Any, watch: Any, db_use: dict[str, Any],
             ceiling: dict[str, Any] | None, started_at: datetime, machine: dict[str, Any]) -> dict[str, Any]:
    to_decision: list[float] = []
    to_payment: list[float] = []
    by_path: dict[str, list[float]] = defaultdict(list)
    stages: dict[str, list[float]] = defaultdict(list)
    path_stages: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    path_total: dict[str, float] = defaultdict(float)
    path_n: Counter[str] = Counter()
    post_ms = [c.results["post_ms"] for c in cases if "post_ms" in c.results]
    sign_ms = [c.results["sign_ms"] for c in cases if "sign_ms" in c.results]
    final_states: dict[str, Counter[str]] = {b: Counter() for b in BENEFITS if any(c.benefit == b for c in cases)}
    by_scenario: dict[str, Counter[str]] = defaultdict(Counter)
    failures: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    first_received: datetime | None = None
    last_final: datetime | None = None
    for c in cases:
        res = c.results
        status = res.get("status") or res.get("last_status") or "not_submitted"
        final_states[c.benefit][status] += 1
        by_scenario[c.scenario][status] += 1
        if res.get("failure"):
            failures[res["failure"].split(":")[0]] += 1
            if len(examples) < 10:
                examples.append({"case": c.n, "scenario": c.scenario, "application": res.get("app_id"), "failure": res["failure"],
                                 "detail": res.get("failure_detail")})
        history = res.get("history")
        if not history:
            continue
        at = _at(history)
        received = at.get("received")
        if received is None:
            continue
        first_received = received if first_received is None else min(first_received, received)
        final = max(at.values())
        last_final = final if last_final is None else max(last_final, final)
        decided = min((at[s] for s in DECISION_STATUSES if s in at), default=None)
        if decided is not None:
            to_decision.append(_ms(received, decided))
            by_path[c.path].append(_ms(received, decided))
        if "payment_queued" in at:
            to_payment.append(_ms(received, at["payment_queued"]))
        ordered = [s for s, _ in history]
        path_n[c.path] += 1
        path_total[c.path] += _ms(received, final)
        for before, after in zip(ordered, ordered[1:]):
            if before in at and after in at:
                stages[f"{before}→{after}"].append(_ms(at[before], at[after]))
                path_stages[c.path][f"{before}→{after}"] += _ms(at[before], at[after])

    finished = sum(1 for c in cases if c.results.get("history") and not c.results.get("failure"))
    server_wall_s = (last_final - first_received).total_seconds() if first_received and last_final else None
    client_wall_s = None
    finals = [c.results["final_mono"] for c in cases if "final_mono" in c.results]
    if finals and runner.first_submit is not None:
        client_wall_s = max(finals) - runner.first_submit
    wall = server_wall_s or client_wall_s
    throughput = finished / wall if wall else None

    submitted = sum(1 for c in cases if c.results.get("app_id"))
    per_case = max(1, submitted)
    cpu = {name: round(watch.cpu_s.get(name, 0.0) * 1000 / per_case, 1) for name in watch.cpu_s}
    app_cpu = {n: v for n, v in cpu.items() if n not in ("sandbox", "kafka", "postgres", "bench_client")}
    cpu_ms_per_case: dict[str, Any] = dict(sorted(app_cpu.items(), key=lambda kv: _order(kv[0])))
    cpu_ms_per_case["total"] = round(sum(app_cpu.values()), 1) if app_cpu else None
    other = {n: cpu[n] for n in ("postgres", "kafka", "sandbox", "bench_client") if n in cpu}
    app_total = sum(app_cpu.values())
    share = {n: round(v / app_total, 3) for n, v in app_cpu.items()} if app_total else {}

    rss = {n: round(v, 1) for n, v in sorted(watch.peak_rss_mb.items(), key=lambda kv: _order(kv[0]))}
    # The total is the application's processes: the sandbox and the mock broker stand in for outside systems.
    app_rss = [v for n, v in rss.items() if n not in ("sandbox", "kafka", "postgres")]
    rss_total = round(sum(app_rss), 1) if app_rss else None
    peak_rss = dict(rss) | {"total": rss_total}

    ceiling_cases = ceiling.get("ceiling_cases_per_s") if ceiling else None
    efficiency = round(throughput / ceiling_cases, 3) if throughput and ceiling_cases else None

    stage_order = sorted(stages, key=_stage_key)
    profile = {
        path: {
            "cases": path_n[path],
            "mean_to_final_ms": round(path_total[path] / path_n[path], 1),
            "stages": {k: {"mean_ms": round(v / path_n[path], 1), "share": round(v / path_total[path], 3) if path_total[path] else None}
                       for k, v in sorted(path_stages[path].items(), key=lambda kv: _stage_key(kv[0]))},
        }
        for path in sorted(path_n)
    }
    return {
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mode": target.mode,
        "database": target.database,
        "note": config.note,
        "config": {
            "cases": config.cases, "concurrency": config.concurrency, "rate_per_s": config.rate,
            "arrivals": config.arrivals if config.rate is not None else None,
            "loop": "closed" if config.rate is None else "open", "mix": config.mix or {b: 1.0 for b in BENEFITS},
            "seed": config.seed, "poll_s": config.poll_s, "timeout_s": config.timeout_s,
        },
        "peak_in_flight": runner.peak_in_flight,
        "applications": submitted,
        "applications_final": finished,
        "applications_by_scenario": {k: dict(v) for k, v in sorted(by_scenario.items())},
        "throughput_per_s": round(throughput, 2) if throughput else None,
        "wall_s": round(wall, 2) if wall else None,
        "wall_s_client": round(client_wall_s, 2) if client_wall_s else None,
        "latency_ms": dist(to_decision),
        "latency_by_path_ms": {p: dist(v) for p, v in sorted(by_path.items())},
        "latency_to_payment_ms": dist(to_payment),
        "post_latency_ms": dist(post_ms),
        "sign_latency_ms": dist(sign_ms),
        "stages_ms": {k: dist(stages[k]) for k in stage_order},
        "profile_by_path": profile,
        "cpu_ms_per_case": cpu_ms_per_case,
        "cpu_ms_per_case_other": other,
        "cpu_share": share,
        "peak_rss_mb": peak_rss,
        "db": db_use,
        "ceiling_tx_per_s": ceiling.get("ceiling_tx_per_s") if ceiling else None,
        "ceiling_cases_per_s": ceiling_cases,
        "ceiling": ceiling,
        "efficiency": efficiency,
        "failures": {"total": sum(failures.values()), "by_reason": dict(failures), "examples": examples,
                     "new_dead_letters": runner.new_dead_letters},
        "final_states": {b: dict(v) for b, v in final_states.items()},
        "http": dict(runner.http),
        "bench_errors": dict(runner.errors),
        "machine": machine,
    }


def _stage_key(stage: str) -> tuple[int, int]:
    before, _, after = stage.partition("→")
    index = lambda s: STATUS_ORDER.index(s) if s in STATUS_ORDER else len(STATUS_ORDER)  # noqa: E731
    return index(before), index(after)


def _order(name: str) -> int:
    order = APP_PROCESSES + ("sandbox", "kafka", "postgres", "bench_client")
    return order.index(name) if name in order else len(order)


def write(result: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(result["started_at"]).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{stamp}.json"
    n = 1
    while path.exists():
        n += 1
        path = directory / f"{stamp}-{n}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# --- the table ---------------------------------------------------------------------------------

def _f(v: Any, unit: str = "", digits: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}{unit}".replace(",", " ")
    return f"{v}{unit}"


def _dist_row(label: str, d: dict[str, Any], scale: float = 1.0, unit: str = "ms") -> str:
    def s(k: str) -> str:
        v = d.get(k)
        return _f(None if v is None else v / scale, "", 1 if scale == 1 else 2)

    return f"  {label:<38} {s('p50'):>9} {s('p95'):>9} {s('p99'):>9} {s('max'):>9} {unit:<3} n={d.get('n', 0)}"


def table(r: dict[str, Any]) -> str:
    cfg = r["config"]
    lines = []
    loop = (f"closed loop, {cfg['concurrency']} in flight" if cfg["loop"] == "closed"
            else f"open loop, {cfg['rate_per_s']:g}/s {cfg['arrivals']}")
    m = r["machine"]
    lines.append(f"e-Maket benchmark, {r['started_at']} — {r['applications']} applications, {loop}; mode {r['mode']}, database {r['database']}")
    lines.append(f"machine: {m.get('cores')} cores, {m.get('cpu_model')}, Python {m.get('python')}, load average at start {m.get('loadavg_at_start')}")
    if r.get("note"):
        lines.append(f"note: {r['note']}")
    lines.append("")
    lines.append(f"  {'':<38} {'p50':>9} {'p95':>9} {'p99':>9} {'max':>9}")
    lines.append(_dist_row("POST /api/v1/applications", r["post_latency_ms"]))
    lines.append(_dist_row("submission → decision", r["latency_ms"], 1000, "s"))
    for path, d in r["latency_by_path_ms"].items():
        lines.append(_dist_row(f"  {path}", d, 1000, "s"))
    lines.append(_dist_row("submission → payment order", r["latency_to_payment_ms"], 1000, "s"))
    lines.append(_dist_row("specialist's POST .../sign", r["sign_latency_ms"]))
    lines.append("")
    lines.append(f"  throughput end to end           {_f(r['throughput_per_s'], ' cases/s', 2)} ({_f(r['wall_s'], ' s')} from the first"
                 " received to the last final state)")
    lines.append(f"  database ceiling                {_f(r['ceiling_tx_per_s'], ' tx/s')} → {_f(r['ceiling_cases_per_s'], ' cases/s', 2)}"
                 f" at {_f(r['db']['tx_per_case'])} transactions per case")
    eff = r["efficiency"]
    lines.append(f"  efficiency                      {'–' if eff is None else f'{eff * 100:.1f} %'} of the ceiling")
    lines.append(f"  failures                        {r['failures']['total']} {r['failures']['by_reason'] or ''}")
    if r["failures"].get("new_dead_letters"):
        lines.append(f"  new dead letters                {r['failures']['new_dead_letters']} (GET /api/v1/ops/<service>/dead-letters)")
    lines.append("")
    lines.append("  final states")
    for benefit, states in r["final_states"].items():
        lines.append(f"    {benefit:<12} " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
    lines.append("")
    lines.append("  where the CPU goes (ms per case; share of the application's CPU)  peak RSS MiB")
    cpu = r["cpu_ms_per_case"]
    rss = r["peak_rss_mb"]
    for name in [n for n in cpu if n != "total"]:
        share = r["cpu_share"].get(name, 0.0)
        bar = "█" * int(round(share * 30))
        lines.append(f"    {name:<14} {_f(cpu[name]):>8}  {share * 100:5.1f} % {bar:<30} {_f(rss.get(name)):>8}")
    lines.append(f"    {'total':<14} {_f(cpu.get('total')):>8}  {'':<38} {_f(rss.get('total')):>8}")
    for name, v in r["cpu_ms_per_case_other"].items():
        lines.append(f"    {name + ' (apart)':<24} {_f(v):>8}{'':<30} {_f(rss.get(name)):>8}")
    lines.append("")
    lines.append("  where the time goes (server timestamps, between consecutive statuses)")
    for stage, d in r["stages_ms"].items():
        lines.append(_dist_row(f"  {stage}", d, 1000, "s"))
    for path, prof in r["profile_by_path"].items():
        parts = ", ".join(f"{k} {v['share'] * 100:.0f} %" for k, v in prof["stages"].items() if v["share"] is not None)
        lines.append(f"    {path} ({prof['cases']} cases, mean {prof['mean_to_final_ms'] / 1000:.2f} s to final): {parts}")
    db = r["db"]
    lines.append("")
    lines.append(f"  database: {_f(db['write_tx_per_case'])} write transactions and {_f(db['commits_per_case'])} commits per case,"
                 f" {_f(db['wal_kb_per_case'])} KiB WAL per case; idle: {_f(db['idle_write_tx_per_s'])} writes/s,"
                 f" {_f(db['idle_commits_per_s'])} commits/s")
    lines.append(f"  the ceiling replays {db['tx_per_case_source']}")
    http = r["http"]
    lines.append(f"  http: {http['requests']} requests, {http['retried_429']} retried after 429, {http['retried_errors']} after transport errors")
    return "\n".join(lines)
