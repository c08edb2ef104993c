"""Async engine and sessions bound to one service's schema."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


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
