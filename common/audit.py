"""Audit trail: who read or changed which case, when, through which channel (guarantee 8).

Each service keeps ``audit_log`` in its own schema: append-only (a trigger refuses UPDATE, DELETE
and TRUNCATE) and hash-chained — ``hash = sha256(prev_hash || canonical row)``, the first row
chained to :data:`GENESIS`. Appends take ``pg_advisory_xact_lock`` (one chain per service), and
``prev_hash`` is unique, so concurrent requests can neither fork the chain nor interleave it.
``python -m tools.audit verify`` walks the chains and names the first broken link.

What is recorded, without touching any handler (:func:`install_audit`): every ``/api/v1`` request
whose caller was established (an unauthenticated request names no one and is not recorded) —
the caller's role (the channel: citizen→portal, mobile→proactive, operator→State Corporation,
specialist→provider, ops) and subject, ``METHOD /route/{template}``, the case it concerns (path
parameters, else the UUID keys the transaction created, else the ``Location`` answered;
IIN/BIN query filters masked), the request id and the HTTP status. A citizen's subject is their
IIN: it is stored masked, like every IIN here.

Where the row is written (docs/architecture.md "Audit trail"):
* in the handler's own transaction, just before it commits, when that transaction runs at READ
  COMMITTED and the case is known then: the change and its audit row commit together or not at all;
* otherwise (reads on a REPEATABLE READ snapshot, refusals, errors, lists) in a short transaction of
  its own before the response starts: a client never sees an answer whose row is missing, and if
  the row cannot be written the answer becomes a 503.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import logging
import uuid
import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Annotated, Any, cast, get_args
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, Query, Request
from sqlalchemy import (
    CHAR,
    BigInteger,
    CheckConstraint,
    Column,
    Connection,
    DateTime,
    Index,
    MetaData,
    SmallInteger,
    Table,
    Text,
    event,
    insert,
    select,
    text,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import ORMExecuteState, Session

from common.caller import Caller, CallerDep
from common.logging import mask_personal_data, request_id_var

log = logging.getLogger(__name__)

GENESIS = "0" * 64
PAGE_CAP = 500
API_PREFIX = "/api/v1/"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# --- the table and the chain ------------------------------------------------------------------


def audit_log_table(metadata: MetaData) -> Table:
    """The table in a service's metadata (as :func:`audit_log_ddl` creates it), so its models match its history."""
    table = Table(
        "audit_log",
        metadata,
        Column("id", BigInteger, primary_key=True),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("service", Text, nullable=False),
        Column("actor_role", Text, nullable=False),
        Column("actor_sub", Text, CheckConstraint("actor_sub <> ''"), nullable=False),
        Column("action", Text, nullable=False),
        Column("subject", Text, nullable=False),
        Column("request_id", Text),
        Column("outcome", SmallInteger, nullable=False),
        Column("prev_hash", CHAR(64), nullable=False, unique=True),
        Column("hash", CHAR(64), nullable=False, unique=True),
    )
    Index("ix_audit_log_subject", table.c.subject, table.c.id)
    Index("ix_audit_log_actor_sub", table.c.actor_sub, table.c.id)
    Index("ix_audit_log_at", table.c.at)
    return table


@functools.cache
def audit_table(schema: str) -> Table:
    return audit_log_table(MetaData(schema=schema))


def audit_log_ddl(schema: str) -> list[str]:
    """Version 1 of the table, as the services' migrations create it. Never edit: a change is a v2."""
    s = f'"{schema}"'
    return [
        f"""CREATE TABLE {s}.audit_log (
            id bigserial PRIMARY KEY,
            at timestamptz NOT NULL,
            service text NOT NULL,
            actor_role text NOT NULL,
            actor_sub text NOT NULL CHECK (actor_sub <> ''),
            action text NOT NULL,
            subject text NOT NULL,
            request_id text,
            outcome smallint NOT NULL,
            prev_hash char(64) NOT NULL UNIQUE,
            hash char(64) NOT NULL UNIQUE
        )""",
        f"CREATE INDEX ix_audit_log_subject ON {s}.audit_log (subject, id)",
        f"CREATE INDEX ix_audit_log_actor_sub ON {s}.audit_log (actor_sub, id)",
        f"CREATE INDEX ix_audit_log_at ON {s}.audit_log (at)",
        f"""CREATE FUNCTION {s}.audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
            END $$""",
        f"""CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON {s}.audit_log
            FOR EACH ROW EXECUTE FUNCTION {s}.audit_log_append_only()""",
        f"""CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON {s}.audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION {s}.audit_log_append_only()""",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {s}.audit_log FROM PUBLIC",
    ]


def audit_log_drop_ddl(schema: str) -> list[str]:
    s = f'"{schema}"'
    return [f"DROP TABLE {s}.audit_log", f"DROP FUNCTION {s}.audit_log_append_only()"]


@dataclass(frozen=True)
class Entry:
    """One audited request, before it has its place (id, time, hashes) in the chain."""

    service: str
    actor_role: str
    actor_sub: str
    action: str
    subject: str
    request_id: str | None
    outcome: int


def canonical(row: Mapping[str, Any]) -> bytes:
    """The bytes a row's hash covers: every column but the hashes, as sorted compact JSON."""
    fields = {k: row[k] for k in ("id", "at", "service", "actor_role", "actor_sub", "action", "subject", "request_id", "outcome")}
    fields["at"] = fields["at"].isoformat(timespec="microseconds")
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(row)).hexdigest()


def lock_key(service: str) -> int:
    return zlib.crc32(f"audit:{service}".encode())


def append(conn: Connection, entry: Entry) -> int:
    """Append ``entry`` to its service's chain inside ``conn``'s transaction; returns its id.

    The advisory lock is held until that transaction ends, so the head read after it is the
    latest committed one (READ COMMITTED: each statement sees what committed before it began).
    """
    table = audit_table(entry.service)
    qualified = f'"{entry.service}".audit_log'
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(entry.service)})
    row_id, at, head = conn.execute(
        text(
            f"SELECT nextval(pg_get_serial_sequence('{qualified}', 'id')), clock_timestamp(),"
            f" (SELECT hash FROM {qualified} ORDER BY id DESC LIMIT 1)"
        )
    ).one()
    row = asdict(entry) | {"id": row_id, "at": at, "prev_hash": head or GENESIS}
    row["hash"] = chain_hash(row["prev_hash"], row)
    conn.execute(insert(table).values(**row))
    return int(row_id)


async def append_now(engine: AsyncEngine, entry: Entry) -> int:
    """Append in a short transaction of its own."""
    async with engine.begin() as conn:
        return await conn.run_sync(append, entry)


@dataclass(frozen=True)
class BrokenLink:
    id: int
    what: str
    expected: str
    found: str

    def __str__(self) -> str:
        return f"id {self.id}: {self.what} expected {self.expected}, found {self.found}"


def verify_chain(rows: Iterable[Mapping[Any, Any]], prev_hash: str = GENESIS) -> tuple[int, str, BrokenLink | None]:
    """Walk rows in id order: (rows checked, head hash, first broken link or None)."""
    count = 0
    for row in rows:
        count += 1
        if row["prev_hash"] != prev_hash:
            return count, prev_hash, BrokenLink(row["id"], "prev_hash", prev_hash, row["prev_hash"])
        computed = chain_hash(row["prev_hash"], row)
        if computed != row["hash"]:
            return count, prev_hash, BrokenLink(row["id"], "hash", computed, row["hash"])
        prev_hash = row["hash"]
    return count, prev_hash, None


# --- what a request is recorded as ------------------------------------------------------------


@dataclass
class RequestAudit:
    """The audit state of one request, shared by the middleware, the caller dependency and the session hook."""

    service: str
    scope: Scope
    caller: Caller | None = None
    created: list[str] = field(default_factory=list)
    pending: Session | None = None
    recorded_outcome: int | None = None
    done: bool = False

    def action(self) -> str:
        route = self.scope.get("route")
        return f"{self.scope['method']} {getattr(route, 'path', None) or self.scope['path']}"

    def subject(self, location: str | None = None) -> str:
        """Path parameters, else the UUIDs created, else the resource answered; personal filters masked."""
        parts = [_printable(str(v)) for v in (self.scope.get("path_params") or {}).values()]
        if not parts:
            parts = list(dict.fromkeys(self.created))
        if not parts and location:
            parts = [_printable(location.rstrip("/").rsplit("/", 1)[-1])]
        for key, value in _query(self.scope):
            if key.endswith(("iin", "bin")):
                parts.append(f"{_printable(key, 40)}={_printable(value, 40)}")
        return mask_personal_data(" ".join(parts))

    def entry(self, outcome: int, *, subject: str, request_id: str | None) -> Entry:
        assert self.caller is not None
        return Entry(
            service=self.service,
            actor_role=self.caller.role,
            # A citizen's subject is their IIN: masked like everywhere else.
            actor_sub=mask_personal_data(self.caller.sub or ""),
            action=self.action(),
            subject=subject,
            request_id=request_id,
            outcome=outcome,
        )


_current: ContextVar[RequestAudit | None] = ContextVar("audit_request", default=None)


def _query(scope: Scope) -> list[tuple[str, str]]:
    return parse_qsl(scope.get("query_string", b"").decode("latin-1"))


def _printable(value: str, limit: int = 200) -> str:
    """What a hostile path or query may carry (NUL, lone surrogates) must not make the row unwritable."""
    return "".join(c if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF else "?" for c in value[:limit])


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


# --- in the handler's transaction ------------------------------------------------------------


def _before_commit(session: Session) -> None:
    audit = _current.get()
    if audit is None or audit.caller is None or audit.done:
        return
    if audit.recorded_outcome is not None or audit.pending is not None:
        return  # one row per request: the first transaction that commits carries it
    if session.in_nested_transaction():
        return  # a savepoint: the outer transaction decides
    conn = session.connection()
    isolation = conn.get_execution_options().get("isolation_level")
    if isolation not in (None, "READ COMMITTED"):
        # A REPEATABLE READ snapshot cannot see the chain's latest head: recorded on its own instead.
        return
    subject = audit.subject()
    if not subject:
        return  # the case is known only from the answer (Location): recorded when the response starts
    route = audit.scope.get("route")
    outcome = getattr(route, "status_code", None) or 200
    append(conn, audit.entry(outcome, subject=subject, request_id=request_id_var.get()))
    audit.pending = session


def _after_commit(session: Session) -> None:
    audit = _current.get()
    if audit is not None and audit.pending is session and not session.in_nested_transaction():
        route = audit.scope.get("route")
        audit.recorded_outcome = getattr(route, "status_code", None) or 200
        audit.pending = None


def _after_rollback(session: Session) -> None:
    audit = _current.get()
    if audit is not None and audit.pending is session:
        audit.pending = None  # the row went with the transaction; it is written when the response starts


def _after_flush(session: Session, context: Any) -> None:
    audit = _current.get()
    if audit is None or audit.caller is None:
        return
    for obj in session.new:
        identity = sa_inspect(obj).mapper.primary_key_from_instance(obj)
        if len(identity) == 1 and isinstance(identity[0], uuid.UUID):
            audit.created.append(str(identity[0]))


def _do_orm_execute(state: ORMExecuteState) -> None:
    """An INSERT with a UUID primary key (``INSERT … ON CONFLICT`` included) names the case it creates."""
    audit = _current.get()
    if audit is None or audit.caller is None or not state.is_insert:
        return
    table = getattr(state.statement, "table", None)
    key = list(table.primary_key.columns) if isinstance(table, Table) else []
    if len(key) != 1:
        return
    params = state.parameters if isinstance(state.parameters, Mapping) else {}
    value = params.get(key[0].key)
    if value is None:
        compiled = cast(Any, state.statement).compile(dialect=state.session.get_bind().dialect)
        value = compiled.params.get(key[0].key)
    if isinstance(value, uuid.UUID):
        audit.created.append(str(value))


@functools.cache
def _listen() -> None:
    """Session hooks, process-wide; they act only inside a request that :class:`AuditMiddleware` follows."""
    event.listen(Session, "do_orm_execute", _do_orm_execute)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _after_rollback)


# --- around the request ----------------------------------------------------------------------


_UNAVAILABLE = json.dumps(
    {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "The audit trail could not record this request, so it is not answered; try again.",
    }
).encode()


class AuditMiddleware:
    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        audit = RequestAudit(service=self.service, scope=scope)
        token = _current.set(audit)
        refused = False

        async def send_recorded(message: Message) -> None:
            nonlocal refused
            if refused:
                return
            if message["type"] == "http.response.start" and not audit.done:
                headers = list(message.get("headers") or [])
                if not await self._record(scope, audit, message["status"], headers):
                    refused = True
                    kept = [(k, v) for k, v in headers if k.lower() == b"x-request-id"]
                    await send({"type": "http.response.start", "status": 503,
                                "headers": [(b"content-type", b"application/problem+json"), *kept]})
                    await send({"type": "http.response.body", "body": _UNAVAILABLE})
                    return
            await send(message)

        try:
            await self.app(scope, receive, send_recorded)
        except Exception:
            if not audit.done:
                await self._record(scope, audit, 500, [])
            raise
        finally:
            _current.reset(token)

    async def _record(self, scope: Scope, audit: RequestAudit, status: int, headers: Iterable[tuple[bytes, bytes]]) -> bool:
        audit.done = True
        if audit.caller is None or audit.recorded_outcome == status:
            return True  # no one to attribute it to (401), or already in the handler's transaction
        headers = list(headers)
        entry = audit.entry(
            status,
            subject=audit.subject(_header(headers, b"location")),
            request_id=_header(headers, b"x-request-id") or request_id_var.get(),
        )
        try:
            await append_now(scope["app"].state.runtime.engine, entry)
        except Exception:
            log.exception("audit row not written for %s; the request is refused", entry.action)
            return False
        return True


def _recording(resolve: Callable[..., Any]) -> Callable[..., Awaitable[Caller]]:
    """The caller dependency, unchanged, that also tells the request's audit who is calling."""

    async def recording(*args: Any, **kwargs: Any) -> Any:
        caller = resolve(*args, **kwargs)
        if inspect.isawaitable(caller):
            caller = await caller
        audit = _current.get()
        if audit is not None and isinstance(caller, Caller):
            audit.caller = caller
        return caller

    # FastAPI reads the parameters to inject from the signature: exactly the original's.
    recording.__signature__ = inspect.signature(resolve, eval_str=True)  # type: ignore[attr-defined]
    recording.__name__ = getattr(resolve, "__name__", "caller")
    return recording


def install_audit(app: FastAPI, service: str) -> None:
    """Record every /api/v1 request of ``app`` in ``service``'s audit_log, and serve GET /api/v1/ops/audit."""
    if getattr(app.state, "audit_installed", False):
        return
    app.state.audit_installed = True
    resolve = get_args(CallerDep)[1].dependency  # whatever CallerDep resolves through
    app.dependency_overrides[resolve] = _recording(resolve)
    app.add_middleware(AuditMiddleware, service=service)
    app.include_router(audit_router())
    _listen()


# --- read by ops -----------------------------------------------------------------------------


def audit_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/ops", tags=["ops"])

    @router.get("/audit", summary="Who read or changed which case (this service's audit trail)")
    async def read_audit(
        request: Request,
        caller: CallerDep,
        subject: Annotated[str | None, Query(max_length=200, description="a case id, or an IIN filter")] = None,
        actor_sub: Annotated[str | None, Query(max_length=128, description="who acted (an IIN is matched masked)")] = None,
        since: Annotated[datetime | None, Query(description="rows at or after this instant")] = None,
        after_id: Annotated[int, Query(ge=0, le=2**63 - 1, description="continue after this id (next_after_id)")] = 0,
        limit: Annotated[int, Query(ge=1, le=PAGE_CAP)] = 100,
    ) -> dict[str, Any]:
        caller.require("ops")
        runtime = request.app.state.runtime
        table = audit_table(runtime.name)
        query = select(table).where(table.c.id > after_id).order_by(table.c.id).limit(limit)
        if subject:
            query = query.where(table.c.subject.contains(mask_personal_data(subject), autoescape=True))
        if actor_sub:
            query = query.where(table.c.actor_sub == mask_personal_data(actor_sub))
        if since:
            query = query.where(table.c.at >= since)
        async with runtime.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        items = [dict(row) for row in rows]
        return {"items": items, "next_after_id": items[-1]["id"] if len(items) == limit else None}

    return router

