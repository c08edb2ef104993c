"""A small seeded chaos run (docs/reliability.md): cases of every benefit while each service and the gateway
is SIGKILLed once and the sandbox injects errors and time-outs; then every invariant of `make chaos` holds.

It starts a stack of its own (free ports, its own database and mock broker): the package's shared `stack`
is not killed. No timing is asserted: the machine is shared.
"""

from __future__ import annotations

import asyncio

import pytest

from tools.chaos import FAST_RECOVERY, TARGETS, ChaosConfig, format_report, run_chaos
from tools.mock_kafka import start_mock_kafka, stop_mock_kafka
from tools.stack import PROCESSES, Stack, free_ports

pytestmark = pytest.mark.e2e


async def test_a_small_chaos_run_keeps_every_invariant(fresh_database, tmp_path):
    database_url = fresh_database()
    kafka, bootstrap = start_mock_kafka()
    names = [name for name, _ in PROCESSES]
    stack = Stack(database_url, bootstrap, ports=dict(zip(names, free_ports(len(names)))), data_dir=tmp_path,
                  extra_env={"LOG_LEVEL": "WARNING", **FAST_RECOVERY})
    config = ChaosConfig(cases=12, kills=len(TARGETS), seed=11, kill_gap_s=(0.5, 2.0), down_s=(0.3, 1.5),
                         settle_timeout_s=180.0, verbose=False)
    try:
        await asyncio.to_thread(stack.start)
        report = await run_chaos(stack, database_url, config)
    finally:
        await asyncio.to_thread(stack.stop)
        stop_mock_kafka(kafka)
    assert {k["target"] for k in report["kills"]} == set(TARGETS)
    assert report["ok"], format_report(report) + f"\nlogs: {stack.log_dir}"
