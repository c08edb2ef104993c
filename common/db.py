"""Async engine and sessions bound to one service's schema."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
_AFTER_COMMIT = "emaket.after_commit"


def make_engine(url: str, *, schema: str, pool_size: int = 5) -> AsyncEngine:
    """The search_path puts the service's own schema first, so unqualified SQL stays inside it."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        # A failing statement's error (raised, logged, stored in dead letters) must not carry its
        # parameters: they are IINs, phones, IBANs and names (guarantee 8).
        hide_parameters=True,
        connect_args={"server_settings": {"search_path": f"{schema},public", "application_name": schema}},
    )


def make_session_factory(engine: AsyncEngine, *, info: dict[str, Any] | None = None) -> async_sessionmaker:
    """``info`` goes to every session's ``info`` (``Wakes.session_info()``: commits wake the relay and workers)."""
    return async_sessionmaker(engine, expire_on_commit=False, info=info)


async def snapshot(session: AsyncSession) -> None:
    """Begin the session's reads on one REPEATABLE READ snapshot.

    A resource assembled from several queries (an application and its history) must not mix two
    commits: under READ COMMITTED a status change landing between the queries showed a history
    ending in ``payment_queued`` beside a status still ``assigned``. Call before the first query.
    """
    await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def after_commit(session: Any, action: Callable[[], None]) -> None:
    """Run ``action`` once the session's current transaction commits; never when it rolls back.

    ``session`` is a SQLAlchemy ``Session`` or ``AsyncSession`` (both share ``info``). Used for what must
    not happen for work that did not happen: waking the relay and workers (common/wake.py), moving a
    counter (common/metrics.py). An action that raises is logged, never passed to the committed caller.
    """
    if not event.contains(Session, "after_commit", _run_after_commit):
        event.listen(Session, "after_commit", _run_after_commit)
        event.listen(Session, "after_transaction_end", _drop_after_end)
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


def _run_after_commit(session: Session) -> None:
    for action in session.info.pop(_AFTER_COMMIT, ()):
        try:
            action()
        except Exception:  # noqa: BLE001 - the transaction is committed whatever an action does
            log.exception("an after-commit action failed")


def _drop_after_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction ended: committed (ran above) or rolled back
        session.info.pop(_AFTER_COMMIT, None)
