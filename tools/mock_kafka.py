"""A throw-away Kafka for development and tests: librdkafka's mock cluster.

``python -m tools.mock_kafka [--brokers N]`` starts the cluster, prints one
line ``BOOTSTRAP=<host:port,...>`` on stdout and keeps the cluster alive until
SIGTERM or SIGINT, then exits with status 0. Any Kafka client (aiokafka in the
services) can talk to it over TCP on 127.0.0.1; topics are created on first
use. Nothing is persisted.

``start_mock_kafka()`` / ``stop_mock_kafka()`` run it as a child process from
Python (used by ``tools.run`` and the tests).
"""

from __future__ import annotations

import argparse
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PREFIX = "BOOTSTRAP="


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mock_kafka",
                                     description="Run librdkafka's mock Kafka cluster.")
    parser.add_argument("--brokers", type=int, default=1, help="number of mock brokers (default 1)")
    args = parser.parse_args(argv)
    if args.brokers < 1:
        parser.error("--brokers must be at least 1")

    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    # Install the handlers before anything slow, so an early signal still
    # ends the process cleanly.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    from confluent_kafka import Producer

    # The mock cluster lives as long as this client object.
    producer = Producer({
        "test.mock.num.brokers": args.brokers,
        "bootstrap.servers": "",
        "log_level": 4,  # warnings and worse only (hides the "mock cluster enabled" notice)
    })
    metadata = producer.list_topics(timeout=10)
    brokers = sorted(metadata.brokers.values(), key=lambda b: b.id)
    bootstrap = ",".join(f"{b.host}:{b.port}" for b in brokers)
    if not bootstrap:
        print("mock kafka: the mock cluster reported no brokers", file=sys.stderr, flush=True)
        return 1

    sys.stdout.write(f"{PREFIX}{bootstrap}\n")
    sys.stdout.flush()

    while not stop:
        producer.poll(0.2)

    producer.flush(1)
    del producer
    return 0


# --------------------------------------------------------------------------
# helpers for running it as a child process
# --------------------------------------------------------------------------

def start_mock_kafka(brokers: int = 1, stderr: IO | int | None = None,
                     timeout: float = 30.0) -> tuple[subprocess.Popen, str]:
    """Start ``python -m tools.mock_kafka`` in its own process group and wait
    for its ``BOOTSTRAP=`` line. Returns ``(process, bootstrap_servers)``.
    ``stderr`` is where librdkafka's log goes (an open file; default: ours)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.mock_kafka", "--brokers", str(brokers)],
        cwd=str(PROJECT_ROOT),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        start_new_session=True,
    )
    try:
        bootstrap = _read_bootstrap(proc, timeout)
    except BaseException:
        stop_mock_kafka(proc)
        raise
    return proc, bootstrap


def _read_bootstrap(proc: subprocess.Popen, timeout: float) -> str:
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                text = line.decode("utf-8", "replace").strip()
                if text.startswith(PREFIX):
                    return text[len(PREFIX):]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"mock kafka printed no {PREFIX} line within {timeout:.0f} s")
            if sel.select(min(remaining, 0.5)):
                chunk = os.read(fd, 4096)
                if not chunk:
                    code = proc.wait(5)
                    raise RuntimeError(f"mock kafka exited (status {code}) before printing {PREFIX}")
                buf += chunk
            elif proc.poll() is not None:
                raise RuntimeError(f"mock kafka exited (status {proc.returncode}) before printing {PREFIX}")


def stop_mock_kafka(proc: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGTERM, wait up to ``timeout`` s, then SIGKILL. Returns the exit status."""
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
