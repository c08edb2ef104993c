"""Composition root shared by the five services: one FastAPI app per process
with its migrations, outbox relay, consumers and workers (style.md sketch).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import MetaData, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from common import crash
from common.caller import CallerDep
from common.consumer import ConsumerSpec, EventConsumer
from common.db import make_engine, make_session_factory
from common.envelope import Envelope
from common.http import CircuitBreaker, ResilientClient
from common.jobs import run_periodic
from common.logging import configure_logging, request_id_var
from common.migrations import upgrade_head
from common.outbox import MessagingTables
from common.problems import Problem, install_problem_handlers
from common.relay import OutboxRelay, make_producer
from common.settings import ServiceSettings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything a service's handlers and workers need, built once in the lifespan."""

    name: str
    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker
    tables: MessagingTables
    producer: AIOKafkaProducer
    consumers: list[EventConsumer] = field(default_factory=list)
    relay: OutboxRelay | None = None
    clients: list[ResilientClient] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    def external_client(self, *, system: str, base_url: str | None, timeout_s: float = 3.0) -> ResilientClient:
        """An httpx client for an outside system (guarantee 4), closed with the service."""
        client = ResilientClient(
            system=system,
            base_url=base_url or self.settings.sandbox_url,
            timeout_s=timeout_s,
            breaker=CircuitBreaker(reset_s=self.settings.http_breaker_reset_s),
        )
        self.clients.append(client)
        return client


@dataclass
class ServiceDefinition:
    name: str
    title: str
    description: str
    metadata: MetaData
    tables: MessagingTables
    routers: list[APIRouter] = field(default_factory=list)
    consumers: Callable[[Runtime], list[ConsumerSpec]] = lambda runtime: []
    workers: Callable[[Runtime], dict[str, Callable[[], Awaitable[int]]]] = lambda runtime: {}
    setup: Callable[[Runtime], Awaitable[None]] | None = None
    teardown: Callable[[Runtime], Awaitable[None]] | None = None
    metrics: Callable[[Runtime], Awaitable[dict[str, float]]] | None = None


def create_service_app(definition: ServiceDefinition, settings: ServiceSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(definition.name, settings.log_level)
        crash.arm(settings.crash_point)
        # Migrations before serving (never create_all): uvicorn accepts no request until this returns.
        await asyncio.to_thread(upgrade_head, definition.name, settings.database_url)
        engine = make_engine(settings.database_url, schema=definition.name, pool_size=settings.db_pool_size)
        producer = make_producer(settings.kafka_bootstrap_servers, client_id=definition.name)
        await producer.start()
        runtime = Runtime(
            name=definition.name,
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            tables=definition.tables,
            producer=producer,
        )
        app.state.runtime = runtime
        tasks: list[asyncio.Task] = []
        try:
            if definition.setup:
                await definition.setup(runtime)
            runtime.relay = OutboxRelay(
                sessions=runtime.sessions,
                tables=definition.tables,
                producer=producer,
                service=definition.name,
                interval_s=settings.relay_interval_s,
            )
            tasks.append(asyncio.create_task(runtime.relay.run(), name="relay"))
            for spec in definition.consumers(runtime):
                consumer = EventConsumer(
                    spec=spec,
                    bootstrap=settings.kafka_bootstrap_servers,
                    sessions=runtime.sessions,
                    tables=definition.tables,
                    service=definition.name,
                    max_attempts=settings.consumer_max_attempts,
                    session_timeout_ms=settings.kafka_session_timeout_ms,
                    heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
                )
                runtime.consumers.append(consumer)
                tasks.append(asyncio.create_task(consumer.run(), name=f"consumer:{spec.group}"))
            for worker_name, step in definition.workers(runtime).items():
                tasks.append(
                    asyncio.create_task(run_periodic(worker_name, step, settings.worker_interval_s), name=worker_name)
                )
            log.info("%s ready", definition.name)
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if definition.teardown:
                await definition.teardown(runtime)
            for client in runtime.clients:
                await client.aclose()
            await producer.stop()
            await engine.dispose()

    app = FastAPI(title=definition.title, description=definition.description, version="1.0.0", lifespan=lifespan)
    install_problem_handlers(app)

    @app.middleware("http")
    async def request_id(request: Request, call_next):
        rid = request.headers.get("x-request-id") or str(uuid.uuid4())
        token = request_id_var.set(rid)
        try:
            response = await call_next(request)
        finally:
            request_id_var.reset(token)
        response.headers["X-Request-Id"] = rid
        return response

    @app.get("/healthz", include_in_schema=False)
    async def healthz(request: Request) -> dict:
        """Ready: migrations ran (uvicorn serves only after the lifespan) and the database answers."""
        runtime: Runtime = request.app.state.runtime
        try:
            async with runtime.sessions() as session:
                await session.execute(select(1))
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            raise Problem(503, "not-ready", f"database unreachable: {type(exc).__name__}") from None
        return {"status": "ok", "service": definition.name}

    @app.get("/metrics", include_in_schema=False, response_class=PlainTextResponse)
    async def metrics(request: Request) -> str:
        runtime: Runtime = request.app.state.runtime
        figures = await _messaging_metrics(runtime)
        if definition.metrics:
            figures.update(await definition.metrics(runtime))
        # Labels carry only the service name: nothing personal goes into metrics (guarantee 8).
        return "".join(f'emaket_{k}{{service="{definition.name}"}} {v}\n' for k, v in sorted(figures.items()))

    for router in definition.routers:
        app.include_router(router)
    app.include_router(_ops_router())
    return app


async def _messaging_metrics(runtime: Runtime) -> dict[str, float]:
    outbox, dead = runtime.tables.outbox, runtime.tables.dead_letters
    async with runtime.sessions() as session:
        backlog = await session.scalar(select(func.count()).where(outbox.c.published_at.is_(None)))
        oldest = await session.scalar(
            select(func.coalesce(func.extract("epoch", func.now() - func.min(outbox.c.created_at)), 0)).where(
                outbox.c.published_at.is_(None)
            )
        )
        dead_open = await session.scalar(select(func.count()).where(dead.c.replayed_at.is_(None)))
    circuits = {f"circuit_open_{c.system}": float(c.breaker.state == "open") for c in runtime.clients}
    return circuits | {
        "outbox_backlog": backlog or 0,
        "outbox_oldest_unpublished_seconds": float(oldest or 0),
        "dead_letters_open": dead_open or 0,
        "relay_published_total": runtime.relay.published if runtime.relay else 0,
        "events_handled_total": sum(c.handled for c in runtime.consumers),
    }


def _ops_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/ops", tags=["ops"])

    @router.get("/dead-letters", summary="Messages this service could not handle")
    async def list_dead_letters(request: Request, caller: CallerDep, include_replayed: bool = False) -> dict:
        caller.require("ops")
        runtime: Runtime = request.app.state.runtime
        dead = runtime.tables.dead_letters
        query = select(dead).order_by(dead.c.id)
        if not include_replayed:
            query = query.where(dead.c.replayed_at.is_(None))
        async with runtime.sessions() as session:
            rows = (await session.execute(query)).mappings().all()
        return {"items": [{k: (str(v) if k == "event_id" and v else v) for k, v in row.items()} for row in rows]}

    @router.post("/dead-letters/{dead_letter_id}/replay", summary="Handle a dead-lettered message again")
    async def replay(dead_letter_id: int, request: Request, caller: CallerDep) -> dict:
        caller.require("ops")
        runtime: Runtime = request.app.state.runtime
        dead = runtime.tables.dead_letters
        async with runtime.sessions() as session:
            row = (await session.execute(select(dead).where(dead.c.id == dead_letter_id))).mappings().first()
        if row is None:
            raise Problem(404, "not-found", f"No dead letter {dead_letter_id}.")
        if row["replayed_at"] is not None:
            raise Problem(409, "already-replayed", f"Dead letter {dead_letter_id} was replayed already.")
        consumer = next((c for c in runtime.consumers if c.spec.group == row["consumer"]), None)
        event = Envelope.from_bytes(row["raw"].encode())
        handler = consumer.spec.handlers.get(event.name) if consumer else None
        if handler is None:
            raise Problem(409, "no-handler", f"No handler for {event.type} in {row['consumer']}.")
        async with runtime.sessions() as session, session.begin():
            await handler(session, event)
            await session.execute(update(dead).where(dead.c.id == dead_letter_id).values(replayed_at=func.now()))
        return {"id": dead_letter_id, "replayed": True}

    return router
