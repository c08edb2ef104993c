"""Wake, don't poll: the relay and the workers sleep until a commit gives them work.

Two paths, either is enough, both are cheap:

* **In process**: a transaction that wrote an outbox row (``add_event``) or a claimable job row
  marks its session; a SQLAlchemy ``after_commit`` hook then fires the service's ``Wakes`` —
  after the commit, so whoever wakes sees the rows.
* **Across processes and replicas**: each service's outbox and job tables have a trigger that
  issues ``NOTIFY <schema>_outbox`` / ``NOTIFY <schema>_jobs`` in the writing transaction
  (PostgreSQL delivers it at commit, and never for a rollback). ``Listener`` keeps one asyncpg
  connection per process LISTENing on both channels and fires the same signals; it reconnects on
  loss, and fires everything once it listens again (a notice may have been missed meanwhile).

Nothing depends on a wake-up arriving: the relay and the workers still look every
``RELAY_INTERVAL_S`` / ``WORKER_INTERVAL_S`` seconds (the safety poll), so a lost notice delays
work, never loses it.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

import asyncpg
from sqlalchemy import Table, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from common.db import after_commit

log = logging.getLogger(__name__)

# Job rows in these statuses are what a worker claims (claim_due's ``pending``; placed payment orders
# waiting for their confirmation); writing one wakes the workers.
WAKING_STATUSES = frozenset({"pending", "placed"})
_INFO_WAKES = "emaket.wakes"
_INFO_FIRE = "emaket.wake_pending"
KEEPALIVE_S = 30.0
RECONNECT_MAX_S = 30.0


class Waiter:
    """One sleeper's flag: set by its signal, cleared by the sleeper before it looks for work."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self, timeout: float | None) -> bool:
        """True when woken, False when ``timeout`` seconds passed first."""
        if timeout is not None and timeout <= 0:
            return self._event.is_set()
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that arrives as
        # the event is set (gh-86296), and a relay or worker that missed its cancel kept a shutdown waiting.
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
            return True
        except TimeoutError:
            return False


class Signal:
    """Wakes every waiter at once; each waiter clears only its own flag (no wake-up is stolen)."""

    def __init__(self) -> None:
        self._waiters: weakref.WeakSet[Waiter] = weakref.WeakSet()
        self.fired = 0

    def waiter(self) -> Waiter:
        w = Waiter()
        self._waiters.add(w)
        return w

    def fire(self) -> None:
        self.fired += 1
        for w in list(self._waiters):
            w.set()


class Wakes:
    """A service's two signals: ``outbox`` wakes the relay, ``jobs`` wakes the workers."""

    def __init__(self, schema: str, job_tables: list[Table] | tuple[Table, ...] = ()) -> None:
        self.schema = schema
        self.outbox = Signal()
        self.jobs = Signal()
        self.job_tables = frozenset(job_tables)
        self.channels = {f"{schema}_outbox": self.outbox, f"{schema}_jobs": self.jobs}

    def fire(self, kinds: set[str] | frozenset[str] = frozenset({"outbox", "jobs"})) -> None:
        if "outbox" in kinds:
            self.outbox.fire()
        if "jobs" in kinds:
            self.jobs.fire()

    def session_info(self) -> dict[str, Any]:
        """Pass as ``info`` to the sessionmaker: its sessions fire these wakes after a commit."""
        install_session_hooks()
        return {_INFO_WAKES: self}


# --- in process: fire after the commit of a transaction that wrote work ---------------------------


def mark(session: Any, kind: str) -> None:
    """Note that this transaction wrote work of ``kind`` (``outbox``/``jobs``); fired after commit."""
    info = session.info
    wakes = info.get(_INFO_WAKES)
    if wakes is None:
        return
    kinds = info.get(_INFO_FIRE)
    if kinds is None:  # the first mark of this transaction: fire what it marked once it commits
        kinds = info[_INFO_FIRE] = set()

        def fire() -> None:
            info.pop(_INFO_FIRE, None)
            wakes.fire(kinds)

        after_commit(session, fire)
    kinds.add(kind)


def _job_row_written(wakes: Wakes, table: Any) -> bool:
    return table is not None and table in wakes.job_tables


def _on_execute(state: ORMExecuteState) -> None:
    wakes = state.session.info.get(_INFO_WAKES)
    if wakes is None or not wakes.job_tables or not (state.is_insert or state.is_update):
        return
    if _job_row_written(wakes, getattr(state.statement, "table", None)):
        mark(state.session, "jobs")


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    wakes = session.info.get(_INFO_WAKES)
    if wakes is None or not wakes.job_tables:
        return
    for obj in (*session.new, *session.dirty):
        if _job_row_written(wakes, getattr(obj, "__table__", None)) and getattr(obj, "status", None) in WAKING_STATUSES:
            mark(session, "jobs")
            return


def _forget_marks(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost one ended (committed: fired; rolled back: nothing to wake)
        session.info.pop(_INFO_FIRE, None)


def install_session_hooks() -> None:
    if event.contains(Session, "after_flush", _after_flush):
        return
    event.listen(Session, "do_orm_execute", _on_execute)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_transaction_end", _forget_marks)


# --- across processes: LISTEN on one connection per process ----------------------------------------


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL (``postgresql+asyncpg://…``, a socket as ``?host=``) as an asyncpg DSN."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class Listener:
    """One asyncpg connection LISTENing on the service's channels; reconnects, never gives up."""

    def __init__(self, database_url: str, wakes: Wakes, *, keepalive_s: float = KEEPALIVE_S) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._wakes = wakes
        self._keepalive_s = keepalive_s
        self.connected = asyncio.Event()
        self.notices = 0

    def _on_notify(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self.notices += 1
        signal = self._wakes.channels.get(channel)
        if signal is not None:
            signal.fire()

    async def run(self) -> None:
        failures = 0
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(
                    self._dsn, timeout=10, server_settings={"application_name": f"{self._wakes.schema}-listen"}
                )
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                for channel in self._wakes.channels:
                    await conn.add_listener(channel, self._on_notify)
                self._wakes.fire()  # whatever committed while nobody listened
                self.connected.set()
                failures = 0
                while not lost.is_set():
                    try:
                        async with asyncio.timeout(self._keepalive_s):  # not wait_for: see Waiter.wait
                            await lost.wait()
                    except TimeoutError:
                        await conn.execute("SELECT 1", timeout=10)  # a dead peer shows here, not by itself
                log.warning("wake-up listener lost its connection; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database is away: the safety poll covers meanwhile
                failures += 1
                log.warning("wake-up listener: %s; reconnecting", type(exc).__name__)
            finally:
                self.connected.clear()
                if conn is not None and not conn.is_closed():
                    conn.terminate()
            await asyncio.sleep(min(RECONNECT_MAX_S, 0.5 * 2 ** min(failures, 6)))


# --- the triggers (each service's Alembic revision "<service>_wake_notify" runs these) --------------


def notify_ddl(schema: str, jobs: dict[str, tuple[str, ...]]) -> list[str]:
    """NOTIFY ``<schema>_outbox`` on every insert into the outbox (once per statement), and
    ``<schema>_jobs`` when a row of a job table is written in a status a worker claims
    (``jobs``: table -> those statuses). PostgreSQL sends them at commit, once per transaction
    and channel, never for a rollback."""
    statements = [
        f"""CREATE OR REPLACE FUNCTION {schema}.notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{schema}_outbox', '');
    RETURN NULL;
END $$""",
        f"""CREATE TRIGGER outbox_notify AFTER INSERT ON {schema}.outbox
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_outbox()""",
    ]
    if jobs:
        statements.append(
            f"""CREATE OR REPLACE FUNCTION {schema}.notify_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{schema}_jobs', TG_TABLE_NAME);
    RETURN NULL;
END $$"""
        )
    for table, statuses in jobs.items():
        listed = ", ".join(f"'{s}'" for s in statuses)
        statements.append(
            f"""CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE ON {schema}.{table}
    FOR EACH ROW WHEN (NEW.status IN ({listed})) EXECUTE FUNCTION {schema}.notify_jobs()"""
        )
    return statements


def notify_drop_ddl(schema: str, jobs: dict[str, tuple[str, ...]]) -> list[str]:
    statements = [f"DROP TRIGGER IF EXISTS {table}_notify ON {schema}.{table}" for table in jobs]
    statements += [
        f"DROP TRIGGER IF EXISTS outbox_notify ON {schema}.outbox",
        f"DROP FUNCTION IF EXISTS {schema}.notify_outbox()",
        f"DROP FUNCTION IF EXISTS {schema}.notify_jobs()",
    ]
    return statements
