"""PostgreSQL helpers for the local runner and the tests.

* ``embedded_server(data_dir)`` starts an embedded PostgreSQL (``pgserver``)
  whose data lives in ``data_dir`` and which listens on a Unix socket only.
* ``local_server_available()`` tells whether a PostgreSQL answers on
  ``127.0.0.1:5432`` (trust auth, user ``postgres``).
* ``create_database`` / ``drop_database`` manage one database through an
  administrative connection (asyncpg).

URLs handed to the services are SQLAlchemy URLs:
``postgresql+asyncpg://postgres@127.0.0.1:5432/<db>`` or, for a Unix socket,
``postgresql+asyncpg://postgres@/<db>?host=<socket dir>``.
The helpers here accept either such a URL or a plain libpq one
(``postgresql://...``).

``create_database``, ``drop_database`` and ``local_server_available`` are
plain functions usable from synchronous code and from inside a running event
loop (then the work runs in a helper thread); ``acreate_database``,
``adrop_database`` and ``alocal_server_available`` are the coroutine versions.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import socket
import warnings
from pathlib import Path
from typing import Any, Callable, Coroutine, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

__all__ = [
    "embedded_server",
    "local_server_available",
    "alocal_server_available",
    "create_database",
    "acreate_database",
    "drop_database",
    "adrop_database",
    "with_database",
    "to_sqlalchemy_url",
    "to_asyncpg_dsn",
    "LOCAL_ADMIN_URL",
]

LOCAL_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"

T = TypeVar("T")


# --------------------------------------------------------------------------
# URL helpers
# --------------------------------------------------------------------------

def to_sqlalchemy_url(url: str) -> str:
    """``postgresql://...`` / ``postgres://...`` → ``postgresql+asyncpg://...``."""
    scheme, rest = url.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        scheme = "postgresql+asyncpg"
    return f"{scheme}://{rest}"


def to_asyncpg_dsn(url: str) -> str:
    """SQLAlchemy URL → DSN asyncpg understands (``postgresql://...``)."""
    scheme, rest = url.split("://", 1)
    if scheme.startswith("postgresql+") or scheme.startswith("postgres+"):
        scheme = "postgresql"
    return f"{scheme}://{rest}"


def with_database(url: str, name: str) -> str:
    """Return ``url`` pointing at database ``name`` (query string, e.g. the
    socket ``?host=``, is kept)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _quote_ident(name: str) -> str:
    if not name or "\x00" in name:
        raise ValueError(f"invalid database name: {name!r}")
    return '"' + name.replace('"', '""') + '"'


# --------------------------------------------------------------------------
# running coroutines from sync code (also inside a running loop)
# --------------------------------------------------------------------------

def _run(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    # A loop is running in this thread (async test, async fixture):
    # run the coroutine on a fresh loop in a helper thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


async def _connect(admin_url: str, timeout: float = 10.0) -> asyncpg.Connection:
    return await asyncpg.connect(dsn=to_asyncpg_dsn(admin_url), timeout=timeout)


# --------------------------------------------------------------------------
# local server probe
# --------------------------------------------------------------------------

async def alocal_server_available(host: str = "127.0.0.1", port: int = 5432,
                                  timeout: float = 2.0) -> bool:
    # Cheap TCP probe first, so a closed port answers instantly.
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError:
        return False
    try:
        conn = await asyncpg.connect(host=host, port=port, user="postgres",
                                     database="postgres", timeout=timeout)
    except Exception:
        return False
    try:
        await conn.fetchval("SELECT 1", timeout=timeout)
        return True
    except Exception:
        return False
    finally:
        try:
            await conn.close(timeout=timeout)
        except Exception:
            conn.terminate()


def local_server_available(host: str = "127.0.0.1", port: int = 5432,
                           timeout: float = 2.0) -> bool:
    """True when a PostgreSQL accepts user ``postgres`` on ``host:port``."""
    return _run(lambda: alocal_server_available(host, port, timeout))


# --------------------------------------------------------------------------
# create / drop database
# --------------------------------------------------------------------------

async def acreate_database(admin_url: str, name: str) -> None:
    conn = await _connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return
        try:
            await conn.execute(f"CREATE DATABASE {_quote_ident(name)}")
        except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
            pass  # created concurrently: fine, the call is idempotent
    finally:
        await conn.close()


async def adrop_database(admin_url: str, name: str) -> None:
    conn = await _connect(admin_url)
    try:
        for attempt in range(20):
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
            try:
                await conn.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)}")
                return
            except asyncpg.ObjectInUseError:
                # A client reconnected between terminate and drop: try again.
                if attempt == 19:
                    raise
                await asyncio.sleep(0.1)
    finally:
        await conn.close()


def create_database(admin_url: str, name: str) -> None:
    """Create database ``name`` unless it exists. ``admin_url`` points at any
    database of the server (usually ``postgres``)."""
    _run(lambda: acreate_database(admin_url, name))


def drop_database(admin_url: str, name: str) -> None:
    """Terminate the connections to ``name`` and drop it (no error if absent)."""
    _run(lambda: adrop_database(admin_url, name))


# --------------------------------------------------------------------------
# embedded server
# --------------------------------------------------------------------------

def embedded_server(data_dir: str | Path) -> tuple[str, Callable[[], None]]:
    """Start (or attach to) an embedded PostgreSQL whose data is ``data_dir``.

    Returns ``(url, stop)``: ``url`` is the SQLAlchemy URL of the ``postgres``
    database on the server's Unix socket
    (``postgresql+asyncpg://postgres@/postgres?host=<socket dir>``); use
    ``with_database(url, name)`` for another database. ``stop()`` stops the
    server (idempotent); the data stays in ``data_dir``.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; harmless here.
        warnings.simplefilter("ignore")
        import pgserver

        data_dir = Path(data_dir).expanduser().resolve()
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        srv = pgserver.get_server(data_dir, cleanup_mode="stop")

    libpq_uri = srv.get_uri()  # postgresql://postgres:@/postgres?host=<dir>
    parts = urlsplit(libpq_uri)
    query = dict(parse_qsl(parts.query))
    host = query.get("host")
    if host:
        url = f"postgresql+asyncpg://postgres@/postgres?{urlencode({'host': host}, safe='/')}"
    else:  # TCP (pgserver does this on Windows only)
        url = to_sqlalchemy_url(urlunsplit((parts.scheme, parts.netloc, "/postgres", "", "")))

    stopped = False

    def stop() -> None:
        nonlocal stopped
        if stopped:
            return
        stopped = True
        # pgserver logs on its own logger; keep its shutdown quiet.
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        srv.cleanup()

    return url, stop
