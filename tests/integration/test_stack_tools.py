"""The local-run tooling: mock Kafka, PostgreSQL helpers, the Stack runner and
``python -m tools.run``'s refusal when a port is taken.

The Stack is exercised with a tiny stand-in ASGI app defined at the bottom of
this file (``fake_app``), so these tests do not depend on the real services.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from tools.mock_kafka import start_mock_kafka, stop_mock_kafka
from tools.pg import (
    LOCAL_ADMIN_URL,
    acreate_database,
    adrop_database,
    create_database,
    drop_database,
    embedded_server,
    local_server_available,
    to_asyncpg_dsn,
    with_database,
)
from tools.stack import PortsInUseError, Stack, StackError, free_ports, port_is_free

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FAKE_FACTORY = ".".join(Path(__file__).resolve().relative_to(PROJECT_ROOT).with_suffix("").parts) + ":fake_app"

BOOTSTRAP_RE = re.compile(r"^[\w.\-]+:\d+(,[\w.\-]+:\d+)*$")


# --------------------------------------------------------------------------
# mock Kafka
# --------------------------------------------------------------------------

async def test_mock_kafka_roundtrip_and_clean_exit():
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.mock_kafka"],
        cwd=str(PROJECT_ROOT), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 15)
        text = line.decode()
        assert text.startswith("BOOTSTRAP=") and text.endswith("\n"), text
        bootstrap = text.strip().removeprefix("BOOTSTRAP=")
        assert BOOTSTRAP_RE.match(bootstrap), bootstrap

        topic = f"stack-tools-{uuid.uuid4().hex[:8]}"
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b'{"hello": "kafka"}', key=b"app-1")
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id="stack-tools",
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        try:
            got = []
            deadline = time.monotonic() + 15
            while not got and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    got.extend(records)
            assert [(r.key, r.value) for r in got] == [(b"app-1", b'{"hello": "kafka"}')]
            await consumer.commit()
        finally:
            await consumer.stop()

        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 10)
        assert code == 0
        assert proc.stdout.read() == b"", "exactly one line on stdout"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_mock_kafka_helper_several_brokers_and_sigint():
    proc, bootstrap = start_mock_kafka(brokers=3, stderr=subprocess.DEVNULL)
    try:
        assert len(bootstrap.split(",")) == 3, bootstrap
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        stop_mock_kafka(proc)


# --------------------------------------------------------------------------
# ports
# --------------------------------------------------------------------------

def _listen(port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", port))
    s.listen()
    return s


def test_free_ports_are_distinct_and_free():
    ports = free_ports(7)
    assert len(set(ports)) == 7
    assert all(port_is_free(p) for p in ports)


def test_check_ports_free_detects_a_taken_port_and_start_refuses(tmp_path):
    names = ["sandbox", "intake", "eligibility", "decision", "payment_queue", "notifier", "gateway"]
    ports = dict(zip(names, free_ports(len(names))))
    stack = Stack(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none",
                  kafka_bootstrap="127.0.0.1:1", ports=ports,
                  log_dir=tmp_path / "logs", data_dir=tmp_path / "data")
    assert stack.check_ports_free() == []

    listener = _listen(ports["decision"])
    try:
        taken = stack.check_ports_free()
        assert len(taken) == 1
        assert "decision" in taken[0] and str(ports["decision"]) in taken[0]

        with pytest.raises(PortsInUseError) as info:
            stack.start()
        assert "decision" in str(info.value) and str(ports["decision"]) in str(info.value)
        # Nothing was started.
        assert all(stack.pid(n) is None for n in names)
        assert not (tmp_path / "logs").exists()
    finally:
        listener.close()
    assert stack.check_ports_free() == []


def test_stack_rejects_unknown_process_names(tmp_path):
    with pytest.raises(ValueError):
        Stack("postgresql+asyncpg://x@127.0.0.1/db", "127.0.0.1:1", ports={"nope": 1},
              log_dir=tmp_path, data_dir=tmp_path)


def test_run_refuses_when_a_port_is_taken(tmp_path):
    (port,) = free_ports(1)
    listener = _listen(port)
    try:
        env = dict(os.environ, GATEWAY_PORT=str(port), DATA_DIR=str(tmp_path / "data"),
                   DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:1/none",
                   KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1")
        result = subprocess.run([sys.executable, "-m", "tools.run"], cwd=str(PROJECT_ROOT), env=env,
                                capture_output=True, text=True, timeout=30)
    finally:
        listener.close()
    assert result.returncode == 1, result
    assert f"Port {port} " in result.stderr and "gateway" in result.stderr, result.stderr
    assert "Starting" not in result.stdout
    assert not (tmp_path / "data").exists()


# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def admin_url(tmp_path_factory):
    if local_server_available():
        yield LOCAL_ADMIN_URL
        return
    url, stop = embedded_server(tmp_path_factory.mktemp("pg") / "data")
    try:
        yield url
    finally:
        stop()


async def test_create_and_drop_database(admin_url):
    name = f"stack_tools_{uuid.uuid4().hex[:8]}"
    db_url = with_database(admin_url, name)
    admin = await asyncpg.connect(to_asyncpg_dsn(admin_url))
    try:
        create_database(admin_url, name)  # sync form, called inside a running loop
        create_database(admin_url, name)  # idempotent
        await acreate_database(admin_url, name)
        assert await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name) == 1

        conn = await asyncpg.connect(to_asyncpg_dsn(db_url))
        assert await conn.fetchval("SELECT current_database()") == name

        # Dropping terminates the open connection first.
        drop_database(admin_url, name)
        assert await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name) == 0
        with pytest.raises(Exception):  # noqa: B017 - the server ended it (error class depends on timing)
            await conn.fetchval("SELECT 1")
        conn.terminate()

        await adrop_database(admin_url, name)  # absent: no error
    finally:
        await adrop_database(admin_url, name)
        await admin.close()


def test_embedded_server_persists_data_and_works_with_sqlalchemy(tmp_path):
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    data_dir = tmp_path / "pg"
    url, stop = embedded_server(data_dir)
    try:
        assert url.startswith("postgresql+asyncpg://postgres@/postgres?host=")
        create_database(url, "emaket")
        db_url = with_database(url, "emaket")

        async def write():
            engine = create_async_engine(db_url)
            async with engine.begin() as conn:
                await conn.execute(text("CREATE TABLE kept (v int)"))
                await conn.execute(text("INSERT INTO kept VALUES (42)"))
            await engine.dispose()

        asyncio.run(write())
    finally:
        stop()
    stop()  # idempotent

    url2, stop2 = embedded_server(data_dir)
    try:
        async def read():
            conn = await asyncpg.connect(to_asyncpg_dsn(with_database(url2, "emaket")))
            try:
                return await conn.fetchval("SELECT v FROM kept")
            finally:
                await conn.close()

        assert asyncio.run(read()) == 42
    finally:
        stop2()


# --------------------------------------------------------------------------
# Stack mechanics, with the stand-in app
# --------------------------------------------------------------------------

FAKE_PROCESSES = [("sandbox", FAKE_FACTORY), ("intake", FAKE_FACTORY), ("gateway", FAKE_FACTORY)]


def test_stack_start_env_kill_restart_crash_and_stop(tmp_path):
    ports = dict(zip(["sandbox", "intake", "gateway"], free_ports(3)))
    stack = Stack(database_url="postgresql+asyncpg://postgres@/emaket?host=/nowhere",
                  kafka_bootstrap="127.0.0.1:9", ports=ports, log_dir=tmp_path / "logs",
                  data_dir=tmp_path / "data", extra_env={"FAKE_COMMON": "all"},
                  process_env={"intake": {"FAKE_ONLY": "intake"}},
                  processes=FAKE_PROCESSES, health_timeout=20)
    with stack:
        with httpx.Client(trust_env=False, timeout=5) as http:
            env = http.get(stack.url("gateway") + "/env").json()
            assert env["DATABASE_URL"] == "postgresql+asyncpg://postgres@/emaket?host=/nowhere"
            assert env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:9"
            assert env["DEV_MODE"] == "true"
            assert env["SANDBOX_URL"] == f"http://127.0.0.1:{ports['sandbox']}"
            assert env["GATEWAY_INTAKE_URL"] == f"http://127.0.0.1:{ports['intake']}"
            assert env["DATA_DIR"] == str((tmp_path / "data").resolve())
            assert env["FAKE_COMMON"] == "all" and env["FAKE_ONLY"] is None
            intake_env = http.get(stack.url("intake") + "/env").json()
            assert intake_env["FAKE_ONLY"] == "intake"
            assert intake_env["GATEWAY_INTAKE_URL"] is None

            # crash simulation and recovery
            old_pid = stack.pid("intake")
            assert stack.kill("intake") == -signal.SIGKILL
            assert not stack.is_running("intake")
            stack.start_process("intake")
            assert stack.pid("intake") != old_pid
            assert http.get(stack.url("intake") + "/healthz").status_code == 200

            # a process that exits by itself (crash hook), then comes back
            stack.restart("intake", extra_env={"FAKE_EXIT_AFTER": "0.3"}, wait=False)
            assert stack.wait_exit("intake", 10) == 86
            assert stack.exited() == {"intake": 86}
            stack.start_process("intake")  # extra_env was for that run only
            with pytest.raises(TimeoutError):
                stack.wait_exit("intake", 0.5)

            # a process that cannot start: the error carries its log
            stack.stop("sandbox")
            with pytest.raises(StackError) as info:
                stack.start_process("sandbox", extra_env={"FAKE_FAIL": "1"})
            assert "fake start-up failure" in str(info.value)
            assert not stack.is_running("sandbox")

    assert stack.exited() == {}
    assert all(port_is_free(p) for p in ports.values())
    assert (tmp_path / "logs" / "intake.log").read_text().count("starting intake") == 4


def test_stack_start_reports_unhealthy_process_and_cleans_up(tmp_path):
    ports = dict(zip(["sandbox", "intake", "gateway"], free_ports(3)))
    stack = Stack(database_url="postgresql+asyncpg://x@127.0.0.1/db", kafka_bootstrap="127.0.0.1:9",
                  ports=ports, log_dir=tmp_path / "logs", data_dir=tmp_path / "data",
                  process_env={"gateway": {"FAKE_UNHEALTHY": "1"}},
                  processes=FAKE_PROCESSES)
    with pytest.raises(StackError) as info:
        stack.start(timeout=3)
    assert "gateway" in str(info.value) and "not healthy" in str(info.value)
    assert all(stack.pid(n) is None for n in ports)
    assert all(port_is_free(p) for p in ports.values())


def test_stack_replicas_have_own_ports_env_and_lifecycle(tmp_path):
    ports = dict(zip(["sandbox", "intake", "gateway", "intake#2"], free_ports(4)))
    stack = Stack(database_url="postgresql+asyncpg://x@127.0.0.1/db", kafka_bootstrap="127.0.0.1:9",
                  ports=ports, log_dir=tmp_path / "logs", data_dir=tmp_path / "data",
                  process_env={"intake": {"FAKE_ONLY": "every intake"}, "intake#3": {"FAKE_ONLY": "third"}},
                  processes=FAKE_PROCESSES, replicas={"intake": 3}, health_timeout=20)
    assert stack.names == ["sandbox", "intake", "intake#2", "intake#3", "gateway"]
    assert stack.replicas("intake") == stack.replicas("intake#3") == ["intake", "intake#2", "intake#3"]
    assert stack.replicas("gateway") == ["gateway"]
    assert stack.ports["intake#2"] == ports["intake#2"]  # as given
    assert len({stack.ports[n] for n in stack.names}) == 5  # intake#3 got a free port of its own
    with stack:
        with httpx.Client(trust_env=False, timeout=5) as http:
            only = {n: http.get(stack.url(n) + "/env").json()["FAKE_ONLY"] for n in stack.replicas("intake")}
            assert only == {"intake": "every intake", "intake#2": "every intake", "intake#3": "third"}
            # the gateway talks to the first instance
            assert http.get(stack.url("gateway") + "/env").json()["GATEWAY_INTAKE_URL"] == stack.url("intake")

            pids = {n: stack.pid(n) for n in stack.replicas("intake")}
            assert len(set(pids.values())) == 3
            assert stack.kill("intake#2") == -signal.SIGKILL
            assert not stack.is_running("intake#2")
            assert stack.is_running("intake") and stack.is_running("intake#3")
            assert http.get(stack.url("intake#3") + "/healthz").status_code == 200
            stack.start_process("intake#2")
            assert stack.pid("intake#2") not in pids.values()
            assert http.get(stack.url("intake#2") + "/healthz").status_code == 200
    assert all(stack.pid(n) is None for n in stack.names)
    assert all(port_is_free(stack.ports[n]) for n in stack.names)
    assert (tmp_path / "logs" / "intake#2.log").read_text().count("starting intake#2") == 2
    assert (tmp_path / "logs" / "intake#3.log").read_text().count("starting intake#3") == 1


def test_stack_rejects_bad_replicas(tmp_path):
    common = dict(database_url="postgresql+asyncpg://x@127.0.0.1/db", kafka_bootstrap="127.0.0.1:9",
                  log_dir=tmp_path, data_dir=tmp_path, processes=FAKE_PROCESSES, ports={"sandbox": 1, "intake": 2, "gateway": 3})
    with pytest.raises(ValueError, match="nope"):
        Stack(**common, replicas={"nope": 2})
    with pytest.raises(ValueError, match="at least 1"):
        Stack(**common, replicas={"intake": 0})
    with pytest.raises(ValueError, match="intake#3"):  # a replica the stack does not run
        Stack(**common, replicas={"intake": 2}, process_env={"intake#3": {}})
    assert Stack(**common, replicas={"intake": 1}).names == ["sandbox", "intake", "gateway"]


# --------------------------------------------------------------------------
# the stand-in app (imported by uvicorn in the child processes)
# --------------------------------------------------------------------------

def fake_app():
    """Minimal ASGI app: /healthz (503 with FAKE_UNHEALTHY), /env. FAKE_FAIL
    makes the factory fail; FAKE_EXIT_AFTER=<s> makes the process exit 86."""
    import json

    if os.environ.get("FAKE_FAIL"):
        raise RuntimeError("fake start-up failure")
    if os.environ.get("FAKE_EXIT_AFTER"):
        timer = threading.Timer(float(os.environ["FAKE_EXIT_AFTER"]), lambda: os._exit(86))
        timer.daemon = True
        timer.start()

    keys = ["DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "DEV_MODE", "SANDBOX_URL",
            "GATEWAY_INTAKE_URL", "DATA_DIR", "FAKE_COMMON", "FAKE_ONLY"]

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope["path"] == "/healthz":
            status = 503 if os.environ.get("FAKE_UNHEALTHY") else 200
            body = b'{"status": "ok"}'
        elif scope["path"] == "/env":
            status, body = 200, json.dumps({k: os.environ.get(k) for k in keys}).encode()
        else:
            status, body = 404, b"{}"
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    return app
