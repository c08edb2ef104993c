"""Real parts for the tests: a PostgreSQL server and the Kafka-protocol mock cluster over TCP.

PostgreSQL: the local server on 127.0.0.1:5432 when one answers, else an
embedded one from the pgserver wheel. Every test session gets a fresh database
and drops it at the end. Never SQLite, never an in-memory fake.
"""

from __future__ import annotations

import os
import tempfile
import uuid

import pytest

from tests.callers import JWKS_FILE
from tools.mock_kafka import start_mock_kafka, stop_mock_kafka
from tools.pg import (
    LOCAL_ADMIN_URL,
    create_database,
    drop_database,
    embedded_server,
    local_server_available,
    with_database,
)

# Services under test trust the tests' own internal-credential key (tests/callers.py), set before
# any settings object reads the environment; stacks started by tools/stack.py set their own.
os.environ["INTERNAL_JWKS"] = str(JWKS_FILE)


@pytest.fixture(scope="session")
def pg_admin_url():
    # TEST_POSTGRES=embedded forces the pgserver path (what a machine without a local server takes).
    if os.environ.get("TEST_POSTGRES", "auto") != "embedded" and local_server_available():
        yield LOCAL_ADMIN_URL
        return
    url, stop = embedded_server(tempfile.mkdtemp(prefix="emaket-test-pg-"))
    try:
        yield url
    finally:
        stop()


@pytest.fixture(scope="session")
def database_url(pg_admin_url):
    name = f"emaket_test_{uuid.uuid4().hex[:10]}"
    create_database(pg_admin_url, name)
    try:
        yield with_database(pg_admin_url, name)
    finally:
        drop_database(pg_admin_url, name)


@pytest.fixture
def fresh_database(pg_admin_url):
    """A database of its own for one test module or test (no running stack shares it)."""
    created = []

    def make() -> str:
        name = f"emaket_it_{uuid.uuid4().hex[:10]}"
        create_database(pg_admin_url, name)
        created.append(name)
        return with_database(pg_admin_url, name)

    yield make
    for name in created:
        drop_database(pg_admin_url, name)


@pytest.fixture(scope="session")
def kafka_bootstrap():
    proc, bootstrap = start_mock_kafka()
    try:
        yield bootstrap
    finally:
        stop_mock_kafka(proc)


def pytest_collection_modifyitems(config, items):
    """``@pytest.mark.law("<id>", ...)`` names obligations of the law map (docs/law/README.md): an id the map does not
    know fails the collection, naming the test and the id, so a typo never passes as a trace."""
    from common.law.obligations import load_obligations
    from tools.traceability import unknown_ids

    known = load_obligations()
    wrong = []
    for item in items:
        for mark in item.iter_markers("law"):
            if not mark.args or not all(isinstance(a, str) for a in mark.args) or mark.kwargs:
                wrong.append(f"{item.nodeid}: @pytest.mark.law takes obligation ids as strings, got {mark.args!r}")
                continue
            wrong += [f"{item.nodeid}: unknown obligation id {oid!r}" for oid in unknown_ids(mark.args, known)]
    if wrong:
        unique = list(dict.fromkeys(wrong))
        raise pytest.UsageError(
            "bad @pytest.mark.law markers (ids must be in common/law/obligations.json):\n  " + "\n  ".join(unique)
        )


@pytest.fixture
def spans():
    """Every span this process records, in memory, for one test (common/tracing.py); tracing reset after."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from common import tracing

    exporter = InMemorySpanExporter()
    tracing.use_exporter(exporter)
    try:
        yield exporter
    finally:
        tracing.reset()
