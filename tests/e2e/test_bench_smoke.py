"""`make bench`'s core against the e2e stack: six cases (two per benefit, the automatic path and a specialist's
signature), every key of the result document, every case final. No timing is asserted: the machines are shared."""

from __future__ import annotations

import io
import json

import pytest

from tools.bench import KEYS, BenchConfig, Target, run_bench
from tools.bench.report import table, write
from tools.bench.scenarios import FINAL

pytestmark = pytest.mark.e2e


async def test_bench_core_drives_every_case_to_a_final_state(stack, database_url, tmp_path):
    target = Target(
        stack.url("gateway"), stack.url("sandbox"), database_url,
        pids={name: [pid] for name in stack.names if (pid := stack.pid(name))}, mode="e2e fixture", database="test database",
    )
    config = BenchConfig(cases=6, concurrency=6, idle_s=0.5, settle_s=0.5, ceiling_seconds=1.0, timeout_s=90, progress="lines")
    log = io.StringIO()
    result = await run_bench(target, config, out=log)

    missing = [k for k in KEYS if k not in result]
    assert not missing, missing
    assert result["applications"] == 6
    assert result["failures"]["total"] == 0, result["failures"]
    assert set(result["final_states"]) == {"burial", "disability", "survivor"}
    for benefit, states in result["final_states"].items():
        assert sum(states.values()) == 2, (benefit, states)
        assert set(states) <= FINAL, (benefit, states)
    assert result["applications_final"] == 6
    paths = result["latency_by_path_ms"]
    assert paths["automatic"]["n"] >= 1 and paths["specialist"]["n"] >= 1, paths  # someone signed through the API
    for key in ("p50", "p95", "p99"):
        assert key in result["latency_ms"] and key in result["latency_to_payment_ms"] and key in result["post_latency_ms"]
    assert {"gateway", "intake", "eligibility", "decision", "payment_queue", "notifier", "total"} <= set(result["cpu_ms_per_case"])
    assert "total" in result["peak_rss_mb"]
    assert result["ceiling_tx_per_s"] and result["efficiency"] is not None
    assert {"cores", "cpu_model", "python"} <= set(result["machine"])

    path = write(result, tmp_path)
    assert json.loads(path.read_text(encoding="utf-8"))["applications"] == 6
    assert "submission → decision" in table(result)
