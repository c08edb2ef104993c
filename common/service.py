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
from typing import Annotated, Any

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import MetaData, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from common import crash
from common.audit import install_audit
from common.caller import CallerDep, audit
from common.consumer import ConsumerSpec, EventConsumer, Poison, describe, masked_preview
from common.db import make_engine, make_session_factory
from common.devguard import LoopbackOnly
from common.http import CircuitBreaker, ResilientClient
from common.jobs import failed_jobs, job_tables, retry_failed, run_periodic
from common.logging import configure_logging, mask_personal_data, request_id_var
from common.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from common.metrics import CounterMetricFamily, Metric, consumer_lag, counter, exposition, families_of, gauge, single
from common.migrations import upgrade_head
from common.outbox import MessagingTables
from common.problems import Problem, install_problem_handlers
from common.relay import OutboxRelay, make_producer
from common.settings import ServiceSettings
from common.supervisor import Supervisor
from common.tracing import install_tracing
from common.wake import Listener, Wakes

log = logging.getLogger(__name__)
# Ids are PostgreSQL bigints: a larger number is a 422 naming the field, never a 500 from the driver.
BIGINT_MAX = 2**63 - 1


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
    supervisor: Supervisor = field(default_factory=Supervisor)
    jobs: list[Table] = field(default_factory=list)
    wakes: Wakes | None = None
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
    # Gauges read at scrape time: {name: value} (gauges emaket_<name>{service}) or metric families (common/metrics.py).
    metrics: Callable[[Runtime], Awaitable[dict[str, float] | list[Metric]]] | None = None


def create_service_app(definition: ServiceDefinition, settings: ServiceSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(definition.name, settings.log_level)
        crash.arm(settings.crash_point)
        # Migrations before serving (never create_all): uvicorn accepts no request until this returns.
        await asyncio.to_thread(upgrade_head, definition.name, settings.database_url)
        engine = make_engine(settings.database_url, schema=definition.name, pool_size=settings.db_pool_size)
        producer = make_producer(
            settings.kafka_bootstrap_servers, client_id=definition.name, idempotence=settings.kafka_idempotence
        )
        await producer.start()
        jobs = job_tables(definition.metadata)
        # Commits that write outbox rows or due jobs wake the relay and the workers (common/wake.py).
        wakes = Wakes(definition.name, jobs)
        runtime = Runtime(
            name=definition.name,
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine, info=wakes.session_info()),
            tables=definition.tables,
            producer=producer,
            jobs=jobs,
            wakes=wakes,
        )
        app.state.runtime = runtime
        supervisor = runtime.supervisor
        try:
            if definition.setup:
                await definition.setup(runtime)
            # Other processes' and replicas' commits arrive as NOTIFY (triggers in each service's migrations).
            supervisor.start("wake-listener", Listener(settings.database_url, wakes).run)
            runtime.relay = OutboxRelay(
                sessions=runtime.sessions,
                tables=definition.tables,
                producer=producer,
                service=definition.name,
                interval_s=settings.relay_interval_s,
                wake=wakes.outbox.waiter(),
            )
            supervisor.start("relay", runtime.relay.run)
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
                supervisor.start(f"consumer:{spec.group}", consumer.run)
            for worker_name, step in definition.workers(runtime).items():
                supervisor.start(
                    f"worker:{worker_name}",
                    lambda name=worker_name, step=step, wake=wakes.jobs.waiter(): run_periodic(
                        name, step, settings.worker_interval_s, wake=wake
                    ),
                )
            log.info("%s ready", definition.name)
            yield
        finally:
            await supervisor.stop(timeout_s=settings.shutdown_timeout_s)
            if definition.teardown:
                await definition.teardown(runtime)
            for client in runtime.clients:
                await client.aclose()
            try:
                async with asyncio.timeout(settings.shutdown_timeout_s):  # a broker gone away must not hold the exit
                    await producer.stop()
            except TimeoutError:
                log.error("the Kafka producer did not stop within %.0f s; leaving it", settings.shutdown_timeout_s)
            await engine.dispose()

    app = FastAPI(title=definition.title, description=definition.description, version="1.0.0", lifespan=lifespan)
    install_problem_handlers(app)
    install_tracing(app, definition.name)  # traces across HTTP, the outbox, Kafka and outside calls (common/tracing.py)
    install_audit(app, definition.name)  # every /api/v1 request by a known caller, hash-chained (common/audit.py)
    if settings.dev_mode:
        app.add_middleware(LoopbackOnly)  # dev mode answers this machine only (common/devguard.py)

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
        """Ready: migrations ran (uvicorn serves only after the lifespan), the database answers, and
        every consumer, the relay and every worker is running (one waiting to be restarted is not)."""
        runtime: Runtime = request.app.state.runtime
        dead = runtime.supervisor.dead()
        if dead:
            raise Problem(503, "not-ready", f"not running: {', '.join(dead)}.", dead=dead)
        try:
            async with runtime.sessions() as session:
                await session.execute(select(1))
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            raise Problem(503, "not-ready", f"database unreachable: {type(exc).__name__}") from None
        return {"status": "ok", "service": definition.name}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> dict:
        """Ready to serve a case: what /healthz checks, plus the broker answering and every consumer in its
        group with partitions assigned (a consumer still joining cannot move a case yet). Kubernetes sends
        traffic only to a ready replica; the gateway's /readyz asks every service's."""
        runtime: Runtime = request.app.state.runtime
        checks = await readiness(runtime)
        failing = sorted(name for name, state in checks.items() if state != "ok")
        if failing:
            detail = "; ".join(f"{name}: {checks[name]}" for name in failing)
            raise Problem(503, "not-ready", f"{definition.name} is not ready: {detail}.", checks=checks)
        return {"status": "ready", "service": definition.name, "checks": checks}

    @app.get("/metrics", include_in_schema=False, response_class=PlainTextResponse)
    async def metrics(request: Request) -> PlainTextResponse:
        """Prometheus text format (common/metrics.py, docs/operations.md)."""
        runtime: Runtime = request.app.state.runtime
        # Labels carry only code names and small fixed sets: nothing personal goes into metrics (guarantee 8).
        families = await _messaging_metrics(runtime)
        if definition.metrics:
            families += families_of(definition.name, await definition.metrics(runtime))
        families += _task_lines(runtime, definition.name)
        families += await consumer_lag(runtime.consumers, definition.name)
        return PlainTextResponse(exposition(definition.name, families), media_type=METRICS_CONTENT_TYPE)

    for router in definition.routers:
        app.include_router(router)
    app.include_router(_ops_router())
    return app


READY_CHECK_TIMEOUT_S = 2.0


async def readiness(runtime: Runtime) -> dict[str, str]:
    """Each readiness check and its state ("ok" or why not): database, broker, tasks, consumers."""
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(READY_CHECK_TIMEOUT_S), runtime.sessions() as session:
            await session.execute(select(1))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = f"unreachable ({type(exc).__name__})"
    try:
        async with asyncio.timeout(READY_CHECK_TIMEOUT_S):
            answered = await runtime.producer.client.force_metadata_update()
        checks["broker"] = "ok" if answered and runtime.producer.client.cluster.brokers() else "no metadata"
    except Exception as exc:  # noqa: BLE001
        checks["broker"] = f"unreachable ({type(exc).__name__})"
    for name, state in sorted(runtime.supervisor.tasks.items()):
        if not name.startswith("consumer:"):
            checks[f"task:{name}"] = "ok" if state.running else "not running"
    for consumer in runtime.consumers:
        state = runtime.supervisor.tasks.get(f"consumer:{consumer.spec.group}")
        key = f"consumer:{consumer.spec.group}"
        if state is None or not state.running:
            checks[key] = "not running"
        elif not _joined(consumer):
            checks[key] = "joining its group"
        else:
            checks[key] = "ok"
    return checks


def _joined(consumer: EventConsumer) -> bool:
    """The consumer has its assignment from the group (possibly no partitions, with more replicas than
    partitions on real Kafka): it fetches from now on."""
    kafka = consumer.kafka
    if kafka is None:
        return False
    subscription = getattr(getattr(kafka, "_subscription", None), "subscription", None)
    if subscription is not None:  # aiokafka: the assignment object exists once the group's SyncGroup answered
        return getattr(subscription, "assignment", None) is not None
    return bool(kafka.assignment())


async def _messaging_metrics(runtime: Runtime) -> list[Metric]:
    outbox, dead = runtime.tables.outbox, runtime.tables.dead_letters
    pending = outbox.c.published_at.is_(None) & outbox.c.quarantined_at.is_(None)
    async with runtime.sessions() as session:
        backlog = await session.scalar(select(func.count()).where(pending))
        oldest = await session.scalar(
            select(func.coalesce(func.extract("epoch", func.now() - func.min(outbox.c.created_at)), 0)).where(pending)
        )
        quarantined = await session.scalar(select(func.count()).where(outbox.c.quarantined_at.is_not(None)))
        dead_open = await session.scalar(select(func.count()).where(dead.c.replayed_at.is_(None)))
        jobs_failed = {
            table.name: await session.scalar(select(func.count()).select_from(table).where(table.c.status == "failed"))
            or 0
            for table in runtime.jobs
        }
    service = runtime.name
    families: list[Metric] = [
        single("emaket_outbox_backlog", "Events in the outbox not yet published to Kafka.", service, backlog or 0),
        single(
            "emaket_outbox_oldest_unpublished_seconds",
            "Age of the oldest event waiting in the outbox (0 when none waits).",
            service,
            float(oldest or 0),
        ),
        single("emaket_outbox_quarantined", "Outbox events the broker refused; they wait for ops.", service, quarantined or 0),
        single("emaket_dead_letters_open", "Messages this service could not handle, not replayed yet.", service, dead_open or 0),
        counter(
            "emaket_relay_published", "Events the outbox relay published since the process started.", service,
            runtime.relay.published if runtime.relay else 0,
        ),
        counter(
            "emaket_relay_quarantined", "Events the outbox relay quarantined since the process started.", service,
            runtime.relay.quarantined if runtime.relay else 0,
        ),
        counter(
            "emaket_events_handled", "Kafka events this process's consumers handled.", service,
            sum(c.handled for c in runtime.consumers),
        ),
        counter(
            "emaket_events_dead_lettered", "Kafka events this process's consumers dead-lettered.", service,
            sum(c.dead_lettered for c in runtime.consumers),
        ),
    ]
    by_job = gauge("emaket_jobs_failed", "Jobs out of attempts, per job table; listed for ops.", ("service", "job"))
    for job, failed in sorted(jobs_failed.items()):
        by_job.add_metric([service, job], float(failed))
        families.append(single(f"emaket_jobs_failed_{job}", f"Jobs of {job} out of attempts.", service, failed))
    families.append(by_job)
    circuits: dict[str, float] = {}
    for client in runtime.clients:
        circuits[client.system] = max(circuits.get(client.system, 0.0), float(client.breaker.state == "open"))
    by_system = gauge(
        "emaket_circuit_open", "1 while the circuit breaker to an outside system is open.", ("service", "system")
    )
    for system, is_open in sorted(circuits.items()):
        by_system.add_metric([service, system], is_open)
        families.append(single(f"emaket_circuit_open_{system}", f"1 while the circuit to {system} is open.", service, is_open))
    families.append(by_system)
    return families


def _task_lines(runtime: Runtime, service: str) -> list[Metric]:
    """Liveness and restarts of each supervised task; task names are code names, never personal data."""
    alive = gauge("emaket_task_alive", "1 while the supervised task runs.", ("service", "task"))
    restarts = CounterMetricFamily(
        "emaket_task_restarts", "Times the supervisor restarted the task.", labels=["service", "task"]
    )
    consumers = gauge("emaket_consumer_alive", "1 while the Kafka consumer's task runs.", ("service", "consumer"))
    for name, state in sorted(runtime.supervisor.tasks.items()):
        alive.add_metric([service, name], float(state.running))
        restarts.add_metric([service, name], float(state.restarts))
        if name.startswith("consumer:"):
            consumers.add_metric([service, name.removeprefix("consumer:")], float(state.running))
    return [alive, restarts, consumers]


MAX_PAGE = 200


def _dead_letter_item(row) -> dict[str, Any]:
    """A dead letter as ops see it: metadata and a masked preview, never the raw personal data."""
    return {
        "id": row["id"],
        "consumer": row["consumer"],
        "topic": row["topic"],
        "partition": row["partition"],
        "offset": row["offset"],
        "event_id": str(row["event_id"]) if row["event_id"] else None,
        "error": mask_personal_data(row["error"])[:1000],
        "attempts": row["attempts"],
        "created_at": row["created_at"],
        "replayed_at": row["replayed_at"],
        "tombstone": row["payload_sha256"] is None,
        "payload_size": row["payload_size"],
        "payload_sha256": row["payload_sha256"],
        "payload_truncated": row["payload_truncated"],
        "preview": masked_preview(row["payload"]),
    }


def _ops_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/ops", tags=["ops"])

    @router.get("/dead-letters", summary="Messages this service could not handle (masked, paginated)")
    async def list_dead_letters(
        request: Request,
        caller: CallerDep,
        include_replayed: bool = False,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        after_id: Annotated[int, Query(ge=0, le=BIGINT_MAX)] = 0,
    ) -> dict:
        caller.require("ops")
        runtime: Runtime = request.app.state.runtime
        dead = runtime.tables.dead_letters
        query = select(dead).where(dead.c.id > after_id).order_by(dead.c.id).limit(limit)
        if not include_replayed:
            query = query.where(dead.c.replayed_at.is_(None))
        async with runtime.sessions() as session:
            rows = (await session.execute(query)).mappings().all()
        audit(caller, f"listed {len(rows)} dead letters", f"{runtime.name} dead letters after {after_id}")
        items = [_dead_letter_item(row) for row in rows]
        return {"items": items, "next_after_id": items[-1]["id"] if len(items) == limit else None}

    @router.post("/dead-letters/{dead_letter_id}/replay", summary="Handle a dead-lettered message again, once")
    async def replay(dead_letter_id: Annotated[int, Path(ge=1, le=BIGINT_MAX)], request: Request, caller: CallerDep) -> dict:
        caller.require("ops")
        runtime: Runtime = request.app.state.runtime
        dead = runtime.tables.dead_letters
        audit(caller, "replay dead letter", f"{runtime.name} dead letter {dead_letter_id}")
        # The claim and the handler's effect commit together: of two replays at once, the second waits
        # on the row lock, then finds replayed_at set (409); a failed handler rolls the claim back.
        async with runtime.sessions() as session, session.begin():
            row = (
                await session.execute(
                    update(dead)
                    .where(dead.c.id == dead_letter_id, dead.c.replayed_at.is_(None))
                    .values(replayed_at=func.now())
                    .returning(dead)
                )
            ).mappings().first()
            if row is None:
                if await session.scalar(select(dead.c.id).where(dead.c.id == dead_letter_id)) is None:
                    raise Problem(404, "not-found", f"No dead letter {dead_letter_id}.")
                raise Problem(409, "already-replayed", f"Dead letter {dead_letter_id} was replayed already.")
            if row["payload_truncated"]:
                raise Problem(409, "not-replayable", f"Dead letter {dead_letter_id} was stored truncated.")
            consumer = next((c for c in runtime.consumers if c.spec.group == row["consumer"]), None)
            if consumer is None:
                raise Problem(409, "no-handler", f"No consumer {row['consumer']} in {runtime.name}.")
            try:
                event = consumer.admit(row["payload"])
            except Poison as exc:
                raise Problem(409, "not-replayable", mask_personal_data(str(exc))[:500]) from None
            handler = consumer.spec.handlers.get(event.name)
            if handler is None:
                raise Problem(409, "no-handler", f"No handler for {event.type[:200]} in {row['consumer']}.")
            try:
                with consumer.span(event):  # the replay belongs to the case's trace too
                    await handler(session, event)
            except Exception as exc:  # noqa: BLE001 - the message still fails: it stays open
                raise Problem(409, "replay-failed", mask_personal_data(describe(exc))[:500]) from None
        return {"id": dead_letter_id, "replayed": True}

    @router.get("/outbox/quarantined", summary="Events the broker refused; they wait for ops")
    async def list_quarantined(
        request: Request,
        caller: CallerDep,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        after_id: Annotated[int, Query(ge=0, le=BIGINT_MAX)] = 0,
    ) -> dict:
        caller.require("ops")
        runtime: Runtime = request.app.state.runtime
        outbox = runtime.tables.outbox
        query = (
            select(
                outbox.c.id, outbox.c.event_id, outbox.c.topic, outbox.c.envelope["type"].astext.label("type"),
                outbox.c.created_at, outbox.c.quarantined_at, outbox.c.error,
            )
            .where(outbox.c.quarantined_at.is_not(None), outbox.c.id > after_id)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        async with runtime.sessions() as session:
            rows = (await session.execute(query)).mappings().all()
        audit(caller, f"listed {len(rows)} quarantined events", f"{runtime.name} outbox")
        items = [
            dict(row) | {"event_id": str(row["event_id"]), "error": mask_personal_data(row["error"] or "")}
            for row in rows
        ]
        return {"items": items, "next_after_id": items[-1]["id"] if len(items) == limit else None}

    @router.get("/failed-jobs", summary="Jobs that ran out of attempts (outside calls that kept failing)")
    async def list_failed_jobs(
        request: Request, caller: CallerDep, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50
    ) -> dict:
        caller.require("ops")
        runtime: Runtime = request.app.state.runtime
        items: list[dict[str, Any]] = []
        async with runtime.sessions() as session:
            for table in runtime.jobs:
                items += await failed_jobs(session, table, limit=limit - len(items))
                if len(items) >= limit:
                    break
        audit(caller, f"listed {len(items)} failed jobs", f"{runtime.name} jobs")
        for item in items:
            item["last_error"] = mask_personal_data(item["last_error"] or "")[:1000]
        return {"items": items}

    @router.post("/failed-jobs/{job}/{key}/retry", summary="Send a failed job back to its queue")
    async def retry_job(
        job: Annotated[str, Path(max_length=64)], key: Annotated[str, Path(max_length=128)], request: Request, caller: CallerDep
    ) -> dict:
        caller.require("ops")
        runtime: Runtime = request.app.state.runtime
        table = next((t for t in runtime.jobs if t.name == job), None)
        audit(caller, "retry failed job", f"{runtime.name} {job} {key}")
        if table is not None:
            async with runtime.sessions() as session, session.begin():
                if await retry_failed(session, table, key):
                    return {"job": job, "key": key, "status": "pending"}
        raise Problem(404, "not-found", f"No failed {job} job {key}.")

    return router
