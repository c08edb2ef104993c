"""Supervised background tasks: a consumer, relay or worker that dies is logged and restarted with backoff.

Each of them is meant to run until the process stops, so returning counts as dying too. While a
task waits to be restarted it is not alive: /healthz answers 503 naming it, and /metrics shows
``task_alive`` 0 and the restarts so far (architecture.md "Supervision").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# The first restart waits RESTART_BASE_S, doubling up to RESTART_CAP_S; a task that then ran for
# HEALTHY_AFTER_S starts again from the base the next time it dies.
RESTART_BASE_S = 1.0
RESTART_CAP_S = 60.0
HEALTHY_AFTER_S = 60.0
# Supervisor.stop: how long it keeps cancelling, and how often it cancels again.
STOP_TIMEOUT_S = 15.0
STOP_RECANCEL_S = 0.5


@dataclass
class TaskState:
    name: str
    alive: bool = False
    restarts: int = 0
    last_error: str | None = None
    task: asyncio.Task | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        """Alive and its supervising task still going (a finished supervisor restarts nothing)."""
        return self.alive and self.task is not None and not self.task.done()


class Supervisor:
    def __init__(self) -> None:
        self.tasks: dict[str, TaskState] = {}

    def start(self, name: str, run: Callable[[], Awaitable[None]]) -> TaskState:
        state = TaskState(name, alive=True)  # running from now on, not only once the loop first schedules it
        state.task = asyncio.create_task(self._supervise(state, run), name=name)
        self.tasks[name] = state
        return state

    def dead(self) -> list[str]:
        return sorted(name for name, state in self.tasks.items() if not state.running)

    async def stop(self, *, timeout_s: float = STOP_TIMEOUT_S) -> list[str]:
        """Cancel every task and wait for them; returns the names of any still running after ``timeout_s``.

        A task that swallowed its cancellation (a library catching CancelledError, or Python 3.11's
        wait_for racing a result) is cancelled again every STOP_RECANCEL_S rather than awaited forever:
        a shutdown that hangs keeps a pod in Terminating and once held the test suite for minutes.
        """
        pending = {s.task for s in self.tasks.values() if s.task is not None and not s.task.done()}
        deadline = time.monotonic() + timeout_s
        while pending:
            for task in pending:
                task.cancel()
            left = deadline - time.monotonic()
            if left <= 0:
                break
            _, pending = await asyncio.wait(pending, timeout=min(STOP_RECANCEL_S, left))
        stuck = sorted(task.get_name() for task in pending)
        if stuck:
            log.error("tasks still running after %.0f s of cancelling: %s", timeout_s, ", ".join(stuck))
        return stuck

    @staticmethod
    async def _supervise(state: TaskState, run: Callable[[], Awaitable[None]]) -> None:
        delay = RESTART_BASE_S
        while True:
            started = time.monotonic()
            state.alive = True
            try:
                await run()
                state.last_error = "returned"
                log.error("task %s returned; it should run until stopped", state.name)
            except asyncio.CancelledError:
                state.alive = False
                raise
            except Exception as exc:  # noqa: BLE001 - whatever killed it, restart it
                state.last_error = type(exc).__name__
                # The formatter masks personal data in the traceback (common.logging).
                log.exception("task %s died", state.name)
            state.alive = False
            state.restarts += 1
            if time.monotonic() - started >= HEALTHY_AFTER_S:
                delay = RESTART_BASE_S
            log.warning("restarting task %s in %.1f s (restart %d)", state.name, delay, state.restarts)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESTART_CAP_S)
