"""Supervisor.stop and Waiter.wait under cancellation: a shutdown never waits forever."""

from __future__ import annotations

import asyncio

from common.supervisor import Supervisor
from common.wake import Signal


async def test_a_task_that_swallows_its_first_cancel_is_cancelled_again():
    swallowed = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            swallowed.set()  # a library that catches CancelledError and goes on
        await asyncio.sleep(3600)

    supervisor = Supervisor()
    supervisor.start("stubborn", stubborn)
    await asyncio.sleep(0)
    assert await supervisor.stop(timeout_s=5) == []
    assert swallowed.is_set()
    assert supervisor.tasks["stubborn"].task.done()


async def test_a_task_that_never_stops_is_named_and_the_stop_returns():
    released = asyncio.Event()

    async def immortal() -> None:
        while not released.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    supervisor = Supervisor()
    state = supervisor.start("immortal", immortal)
    await asyncio.sleep(0)
    assert await supervisor.stop(timeout_s=0.3) == ["immortal"]
    released.set()  # tidy up: the test loop is shared
    assert await supervisor.stop(timeout_s=5) == []
    assert state.task.done()


async def test_a_waiter_woken_as_it_is_cancelled_still_stops():
    """The relay's and workers' wait: a cancel racing a wake-up must not be lost (gh-86296 with wait_for)."""
    signal = Signal()
    waiter = signal.waiter()
    cancelled = 0
    for _ in range(50):
        task = asyncio.create_task(waiter.wait(10))
        await asyncio.sleep(0)
        signal.fire()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            cancelled += 1
        waiter.clear()
    # With wait_for the cancel was swallowed and wait() returned True: the loop around it ran on.
    assert cancelled == 50
