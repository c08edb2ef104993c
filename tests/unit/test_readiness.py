"""What a service's /readyz checks (common/service.py readiness), with stand-ins for the database and the broker."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from types import SimpleNamespace

from common.service import readiness
from common.supervisor import Supervisor


class _Session:
    def __init__(self, fail: bool) -> None:
        self.fail = fail

    async def execute(self, statement):
        if self.fail:
            raise ConnectionRefusedError("database away")


def _runtime(*, db_fails=False, broker_answers=True, assignment="assigned", consumer_running=True):
    @asynccontextmanager
    async def sessions():
        yield _Session(db_fails)

    async def metadata():
        return broker_answers

    client = SimpleNamespace(force_metadata_update=metadata, cluster=SimpleNamespace(brokers=lambda: {1} if broker_answers else set()))
    subscription = SimpleNamespace(assignment=None if assignment is None else object())
    kafka = SimpleNamespace(_subscription=SimpleNamespace(subscription=subscription), assignment=lambda: frozenset())
    consumer = SimpleNamespace(spec=SimpleNamespace(group="intake"), kafka=kafka)
    supervisor = Supervisor()
    runtime = SimpleNamespace(sessions=sessions, producer=SimpleNamespace(client=client), supervisor=supervisor, consumers=[consumer])
    return runtime


async def _with_tasks(runtime, *, consumer_running=True):
    async def forever():
        await asyncio.sleep(3600)

    runtime.supervisor.start("relay", forever)
    if consumer_running:
        runtime.supervisor.start("consumer:intake", forever)
    await asyncio.sleep(0)
    try:
        return await readiness(runtime)
    finally:
        await runtime.supervisor.stop(timeout_s=5)


async def test_all_ok_when_database_broker_tasks_and_consumers_are():
    checks = await _with_tasks(_runtime())
    assert checks == {"database": "ok", "broker": "ok", "task:relay": "ok", "consumer:intake": "ok"}


async def test_a_consumer_still_joining_its_group_is_not_ready():
    """An assignment with no partitions is joined (more replicas than partitions); no assignment yet is not."""
    checks = await _with_tasks(_runtime(assignment=None))
    assert checks["consumer:intake"] == "joining its group"


async def test_a_consumer_waiting_to_be_restarted_is_not_ready():
    checks = await _with_tasks(_runtime(), consumer_running=False)
    assert checks["consumer:intake"] == "not running"


async def test_database_and_broker_failures_are_named():
    checks = await _with_tasks(_runtime(db_fails=True, broker_answers=False))
    assert checks["database"].startswith("unreachable (ConnectionRefusedError")
    assert checks["broker"] == "no metadata"
