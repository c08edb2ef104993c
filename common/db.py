"""Async engine and sessions bound to one service's schema."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine


def make_engine(url: str, *, schema: str, pool_size: int = 5) -> AsyncEngine:
    """The search_path puts the service's own schema first, so unqualified SQL stays inside it."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"server_settings": {"search_path": f"{schema},public", "application_name": schema}},
    )


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)
