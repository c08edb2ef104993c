"""Prometheus metrics of the services (issue 8 point 2), built on ``prometheus_client``.

Two kinds of series:

* **Instruments** (counters, histograms) that the code moves as things happen: applications
  received, decisions signed, stage latencies, payment orders, messages, job attempts. They live
  in one process-wide registry, ``INSTRUMENTS`` (never the library's global ``REGISTRY``), and
  carry a ``service`` label; a service's ``/metrics`` shows only the samples with its own name, so
  several apps in one test process never see each other's counts nor clash ("Duplicated
  timeseries").
* **Gauges read at scrape time** from the service's database and its running parts (outbox,
  dead letters, jobs, circuits, tasks, consumer lag, open cases): built afresh for each scrape
  as metric families and served through a per-scrape ``CollectorRegistry``.

Labels come only from small fixed sets (benefit, channel, outcome, stage, status class, code
names of tasks, jobs and outside systems): never an IIN, a name, a phone, an IBAN or an id
(guarantee 8). ``label`` turns anything outside its set into ``other``.

Counts that belong to a transaction are moved with ``after_commit``: a rolled-back or retried
transaction counts nothing, so a consumer batch that falls back to one-by-one handling, or a
redelivered event, is counted once.
"""

from __future__ import annotations

import asyncio
import typing
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from common.db import after_commit
from common.events import Benefit, Channel

try:  # prometheus_client >= 0.18: no `_created` series (one per counter child, of no use on these dashboards)
    from prometheus_client import disable_created_metrics

    disable_created_metrics()  # type: ignore[no-untyped-call]
except ImportError:  # pragma: no cover - older library
    pass

# The text format generate_latest writes (0.0.4); Prometheus 2 and 3 both read it.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

__all__ = ["CONTENT_TYPE", "CounterMetricFamily", "Metric"]

BENEFITS: frozenset[str] = frozenset(typing.get_args(Benefit))
CHANNELS: frozenset[str] = frozenset(typing.get_args(Channel))
OUTCOMES = frozenset({"assigned", "refused"})
SIGNERS = frozenset({"automatic", "specialist"})
MESSAGE_KINDS = frozenset({"receipt", "accepted", "rejected", "documents_requested", "result"})
MESSAGE_CHANNELS = frozenset({"sms", "cabinet"})
JOB_RESULTS = frozenset({"succeeded", "retried", "failed", "refused"})
# received -> registered -> decided (decision signed) -> payment_queued -> paid
STAGES = frozenset(
    {"received_to_registered", "registered_to_decided", "decided_to_payment_queued", "payment_queued_to_paid"}
)
OTHER = "other"
LAG_POSITION_TIMEOUT_S = 0.2


def label(value: Any, allowed: frozenset[str]) -> str:
    """``value`` when it is one of ``allowed``, else ``other``: a label never carries free text."""
    return value if isinstance(value, str) and value in allowed else OTHER


# --- instruments, moved by the code ------------------------------------------------------------

INSTRUMENTS = CollectorRegistry(auto_describe=True)

# Latencies from seconds (automated cases) to weeks (a case waiting for documents and a specialist).
STAGE_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 8 * 3600, 86400, 2 * 86400, 3 * 86400, 5 * 86400,
                 7 * 86400, 10 * 86400, 14 * 86400, 30 * 86400)

APPLICATIONS_RECEIVED = Counter(
    "emaket_applications_received",
    "Applications stored by intake (idempotent replays not counted), per benefit and channel.",
    ["service", "benefit", "channel"],
    registry=INSTRUMENTS,
)
APPLICATIONS_REJECTED = Counter(
    "emaket_applications_rejected",
    "Applications not accepted for registration (B§16: failed checks, no consent, a duplicate claim).",
    ["service", "benefit", "channel"],
    registry=INSTRUMENTS,
)
DECISIONS_SIGNED = Counter(
    "emaket_decisions_signed",
    "Decisions signed, per benefit, outcome (assigned/refused) and signer (automatic/specialist).",
    ["service", "benefit", "outcome", "signer"],
    registry=INSTRUMENTS,
)
STAGE_SECONDS = Histogram(
    "emaket_stage_duration_seconds",
    "Time a case spent between two steps of the status read model, per benefit and stage.",
    ["service", "benefit", "stage"],
    buckets=STAGE_BUCKETS,
    registry=INSTRUMENTS,
)
PAYMENT_ORDERS_PLACED = Counter(
    "emaket_payment_orders_placed",
    "Payment orders the payments database accepted, per benefit.",
    ["service", "benefit"],
    registry=INSTRUMENTS,
)
MESSAGES_SENT = Counter(
    "emaket_messages_sent",
    "Messages delivered to citizens, per kind and channel (sms/cabinet).",
    ["service", "kind", "channel"],
    registry=INSTRUMENTS,
)
JOB_ATTEMPTS = Counter(
    "emaket_job_attempts",
    "Attempts of durable jobs (outside calls), per job table and result "
    "(succeeded, retried, failed = out of attempts, refused = the outside system said no).",
    ["service", "job", "result"],
    registry=INSTRUMENTS,
)


# --- counting after the commit: common.db.after_commit (a rolled-back transaction counts nothing) ---------


def count(counter: Counter, session: Any = None, amount: float = 1.0, **labels: str) -> None:
    """Increment ``counter`` now, or after ``session``'s commit when one is given."""
    child = counter.labels(**labels)
    if session is None:
        child.inc(amount)
    else:
        after_commit(session, lambda: child.inc(amount))


def observe(histogram: Histogram, value: float, session: Any = None, **labels: str) -> None:
    """Observe ``value`` now, or after ``session``'s commit when one is given; negative values are dropped."""
    if value < 0:
        return
    child = histogram.labels(**labels)
    if session is None:
        child.observe(value)
    else:
        after_commit(session, lambda: child.observe(value))


# --- gauges built at scrape time ------------------------------------------------------------------------


def gauge(name: str, documentation: str, labels: Iterable[str] = ("service",)) -> GaugeMetricFamily:
    """An empty gauge family (add samples with ``add_metric``)."""
    return GaugeMetricFamily(name, documentation, labels=list(labels))


def single(name: str, documentation: str, service: str, value: float) -> GaugeMetricFamily:
    """A gauge with one sample, labelled with the service only."""
    family = gauge(name, documentation)
    family.add_metric([service], float(value))
    return family


def counter(name: str, documentation: str, service: str, value: float) -> Metric:
    """A counter read from the code's own tally (``name`` without ``_total``)."""
    family = CounterMetricFamily(name, documentation, labels=["service"])
    family.add_metric([service], float(value))
    return family


class _Fixed(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families


class _OwnSamples(Collector):
    """The instruments of ``INSTRUMENTS`` with only ``service``'s samples (every family, even an empty one)."""

    def __init__(self, service: str) -> None:
        self._service = service

    def collect(self) -> Iterator[Metric]:
        for family in INSTRUMENTS.collect():
            kept = Metric(family.name, family.documentation, family.type, family.unit)
            kept.samples = [s for s in family.samples if s.labels.get("service") == self._service]
            yield kept


def exposition(service: str, families: list[Metric], *, instruments: bool = True) -> bytes:
    """The text exposition (``CONTENT_TYPE``) of ``families`` and of ``service``'s instruments."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(families))
    if instruments:
        registry.register(_OwnSamples(service))
    return generate_latest(registry)


def instrument_names() -> set[str]:
    """Every series name the instruments can expose (``_total``, ``_bucket``, ``_sum``, ``_count`` included)."""
    names: set[str] = set()
    for family in INSTRUMENTS.collect():
        names.add(family.name)
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names |= {family.name + suffix for suffix in ("_bucket", "_sum", "_count")}
    return names


# Series built at scrape time by common/service.py, the services' app.py and gateway/metrics.py; the
# observability-config test checks every name a dashboard or an alert rule uses against these.
SCRAPE_TIME_NAMES = frozenset(
    {
        # every service (common/service.py)
        "emaket_outbox_backlog",
        "emaket_outbox_oldest_unpublished_seconds",
        "emaket_outbox_quarantined",
        "emaket_dead_letters_open",
        "emaket_relay_published_total",
        "emaket_relay_quarantined_total",
        "emaket_events_handled_total",
        "emaket_events_dead_lettered_total",
        "emaket_jobs_failed",  # {service, job}; also emaket_jobs_failed_<table>
        "emaket_circuit_open",  # {service, system}; also emaket_circuit_open_<system>
        "emaket_task_alive",
        "emaket_task_restarts_total",
        "emaket_consumer_alive",
        "emaket_consumer_lag",
        # intake
        "emaket_applications_due_provisional",
        "emaket_cases_open",
        "emaket_cases_due_today",
        "emaket_cases_due_next_working_day",
        "emaket_cases_overdue",
        # eligibility
        "emaket_checks_pending",
        "emaket_checks_retrying",
        # decision
        "emaket_decisions_awaiting_signature",
        "emaket_follow_ups_open",
        # payment_queue
        "emaket_decisions_held",
        # gateway
        "emaket_gateway_requests_total",
        "emaket_gateway_request_duration_seconds_bucket",
        "emaket_gateway_request_duration_seconds_sum",
        "emaket_gateway_request_duration_seconds_count",
    }
)
# Families named after a code name (a job table, an outside system): kept for the tools that read them.
SCRAPE_TIME_PREFIXES = ("emaket_jobs_failed_", "emaket_circuit_open_", "emaket_payment_orders_", "emaket_notifications_")


def exposed_names() -> set[str]:
    return set(SCRAPE_TIME_NAMES) | instrument_names()


def is_exposed(name: str) -> bool:
    """True when the code exposes a series called ``name`` (for dashboards and alert rules)."""
    return name in exposed_names() or any(name.startswith(p) and len(name) > len(p) for p in SCRAPE_TIME_PREFIXES)


def families_of(service: str, figures: Any) -> list[Metric]:
    """A service's own figures: metric families as they are, or a ``{name: value}`` mapping as gauges
    ``emaket_<name>{service}``."""
    if isinstance(figures, dict):
        return [
            single(f"emaket_{name}", f"{name.replace('_', ' ').capitalize()} (docs/operations.md).", service, value)
            for name, value in sorted(figures.items())
        ]
    return list(figures)


async def consumer_lag(consumers: Iterable[Any], service: str) -> list[Metric]:
    """``emaket_consumer_lag{service,consumer,topic}``: messages on the partitions this replica holds that its
    consumer has not handled yet (the partition's high watermark minus the offset committed after handling;
    before this client committed anything, its fetch position). No network call: a partition whose high
    watermark is not known yet (nothing fetched) is left out."""
    family = gauge(
        "emaket_consumer_lag",
        "Messages not yet handled by this replica's consumer, per consumer group and topic (its assigned partitions).",
        ("service", "consumer", "topic"),
    )
    for consumer in consumers:
        kafka = getattr(consumer, "kafka", None)
        if kafka is None:
            continue
        committed: dict[Any, int] = dict(getattr(consumer, "committed_offsets", None) or {})
        lags: dict[str, int] = {}
        try:
            assigned = sorted(kafka.assignment())
        except Exception:  # noqa: BLE001 - not started, or closing
            continue
        for tp in assigned:
            try:
                high = kafka.highwater(tp)
                done = committed.get(tp)
                if done is None and high is not None:
                    async with asyncio.timeout(LAG_POSITION_TIMEOUT_S):  # instant when the position is known
                        done = await kafka.position(tp)
            except Exception:  # noqa: BLE001 - unassigned meanwhile, or no position yet: no figure
                continue
            if high is None or done is None:
                continue
            lags[tp.topic] = lags.get(tp.topic, 0) + max(0, high - done)
        for topic, lag in sorted(lags.items()):
            family.add_metric([service, consumer.spec.group, topic], float(lag))
    return [family]
