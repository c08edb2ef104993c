"""The whole backend as child processes: used by ``make run`` (tools.run) and
by the end-to-end tests.

Each process of docs/design.md runs as
``python -m uvicorn <module> --factory --host 127.0.0.1 --port <port>``
in its own process group, with the project root as working directory and its
output appended to ``<log_dir>/<name>.log``.

    with Stack(database_url=url, kafka_bootstrap=bootstrap,
               ports=dict(zip(names, free_ports(7))), log_dir=..., data_dir=...) as stack:
        httpx.get(stack.url("gateway") + "/healthz")
        stack.kill("intake")                       # crash simulation
        stack.start_process("intake")              # back again, healthy
        stack.restart("decision", extra_env={"CRASH_POINT": "relay.before_publish"}, wait=False)
        assert stack.wait_exit("decision", 30) == 86

Replicas: ``Stack(..., replicas={"intake": 2})`` runs ``intake`` and ``intake#2``, the same module
on a port of its own (``ports["intake#2"]`` or a free one), started once every first instance is
healthy. Each replica is a process like any other (``url``, ``kill``, ``start_process`` take its
name); ``process_env["intake"]`` applies to every replica of intake, ``process_env["intake#2"]`` to
that one only (it wins). The gateway talks to the first instance (``intake``) of each service.
"""

from __future__ import annotations

import atexit
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Iterable, Mapping

import httpx

from common.internal_auth import dev_paths
from common.logging import uvicorn_log_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Start order. The gateway comes last, the sandbox first (the services call it).
PROCESSES: list[tuple[str, str]] = [
    ("sandbox", "sandbox.app:create_app"),
    ("intake", "services.intake.app:create_app"),
    ("eligibility", "services.eligibility.app:create_app"),
    ("decision", "services.decision.app:create_app"),
    ("payment_queue", "services.payment_queue.app:create_app"),
    ("notifier", "services.notifier.app:create_app"),
    ("gateway", "gateway.app:create_app"),
]

DEFAULT_PORTS: dict[str, int] = {
    "gateway": 8000,
    "intake": 8001,
    "eligibility": 8002,
    "decision": 8003,
    "payment_queue": 8004,
    "notifier": 8005,
    "sandbox": 8010,
}

# The gateway's upstreams: env var -> process name.
GATEWAY_UPSTREAMS: dict[str, str] = {
    "GATEWAY_INTAKE_URL": "intake",
    "GATEWAY_ELIGIBILITY_URL": "eligibility",
    "GATEWAY_DECISION_URL": "decision",
    "GATEWAY_PAYMENT_QUEUE_URL": "payment_queue",
    "GATEWAY_NOTIFIER_URL": "notifier",
}

HOST = "127.0.0.1"
REPLICA_SEPARATOR = "#"
LOG_TAIL_LINES = 40
STOP_TIMEOUT = 10.0
POLL_INTERVAL = 0.2


class StackError(RuntimeError):
    """A process of the stack could not be started or did not get healthy."""


class PortsInUseError(StackError):
    """Some ports the stack needs are taken; nothing was started."""

    def __init__(self, taken: list[str]):
        self.taken = taken
        super().__init__(
            "cannot start the stack, these ports are already in use on 127.0.0.1: "
            + "; ".join(taken)
            + ". Stop whatever listens there or choose other ports."
        )


# --------------------------------------------------------------------------
# port helpers
# --------------------------------------------------------------------------

def port_is_free(port: int, host: str = HOST) -> bool:
    """True when ``host:port`` can be bound (like uvicorn does, with SO_REUSEADDR,
    so a port that only has TIME_WAIT connections counts as free)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
        return True


def free_ports(n: int, host: str = HOST) -> list[int]:
    """``n`` distinct ports that are free right now (the OS picks them)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind((host, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


# --------------------------------------------------------------------------
# replicas
# --------------------------------------------------------------------------

def replica_name(name: str, index: int) -> str:
    """The process name of replica ``index`` (1-based) of ``name``: ``intake``, ``intake#2``, ..."""
    return name if index == 1 else f"{name}{REPLICA_SEPARATOR}{index}"


def base_name(name: str) -> str:
    """The process a replica belongs to: ``intake#2`` -> ``intake``."""
    return name.split(REPLICA_SEPARATOR, 1)[0]


def with_replicas(processes: Iterable[tuple[str, str]], replicas: Mapping[str, int]) -> list[tuple[str, str]]:
    """``processes`` with each named one followed by its further replicas (same module)."""
    processes = list(processes)
    known = {name for name, _ in processes}
    for name, count in replicas.items():
        if name not in known:
            raise ValueError(f"unknown process {name!r} in replicas; known: {', '.join(sorted(known))}")
        if int(count) < 1:
            raise ValueError(f"replicas[{name!r}] must be at least 1, not {count}")
    expanded: list[tuple[str, str]] = []
    for name, module in processes:
        expanded += [(replica_name(name, i), module) for i in range(1, int(replicas.get(name, 1)) + 1)]
    return expanded


# --------------------------------------------------------------------------
# the stack
# --------------------------------------------------------------------------

_live_stacks: set["Stack"] = set()


@atexit.register
def _stop_leftovers() -> None:  # pragma: no cover - safety net only
    for stack in list(_live_stacks):
        try:
            stack.stop()
        except Exception:
            pass


class Stack:
    """The processes of docs/design.md, started and watched from Python."""

    def __init__(
        self,
        database_url: str,
        kafka_bootstrap: str,
        ports: Mapping[str, int] | None = None,
        log_dir: str | Path | None = None,
        data_dir: str | Path | None = None,
        extra_env: Mapping[str, str] | None = None,
        dev_mode: bool = True,
        *,
        process_env: Mapping[str, Mapping[str, str]] | None = None,
        health_timeout: float = 90.0,
        processes: Iterable[tuple[str, str]] | None = None,
        replicas: Mapping[str, int] | None = None,
    ):
        """
        ``ports`` overrides the default port of the named processes (others
        keep theirs). ``extra_env`` is added to every child's environment,
        ``process_env[name]`` to that child's only (it wins). ``processes``
        replaces the list of (name, uvicorn factory) to run (tests of this
        module); by default :data:`PROCESSES`. ``replicas[name] = n`` runs ``n`` instances of ``name``
        (``name``, ``name#2`` ... ``name#n``); a replica without a port in ``ports`` gets a free one.
        """
        base = list(processes) if processes is not None else list(PROCESSES)
        self.processes: list[tuple[str, str]] = with_replicas(base, replicas or {})
        self.names: list[str] = [name for name, _ in self.processes]
        self.modules: dict[str, str] = dict(self.processes)

        self.ports: dict[str, int] = {n: p for n, p in DEFAULT_PORTS.items() if n in self.modules}
        for name, port in (ports or {}).items():
            if name not in self.modules:
                raise ValueError(f"unknown process {name!r}; known: {', '.join(self.names)}")
            self.ports[name] = int(port)
        unported = [n for n in self.names if n not in self.ports and n != base_name(n)]
        self.ports.update(zip(unported, free_ports(len(unported))))
        missing = [n for n in self.names if n not in self.ports]
        if missing:
            raise ValueError(f"no port given for {', '.join(missing)}")

        self.database_url = database_url
        self.kafka_bootstrap = kafka_bootstrap
        self.dev_mode = dev_mode
        self.extra_env: dict[str, str] = dict(extra_env or {})
        self.process_env: dict[str, dict[str, str]] = {k: dict(v) for k, v in (process_env or {}).items()}
        for name in self.process_env:
            if name not in self.modules:
                raise ValueError(f"unknown process {name!r} in process_env")
        self.health_timeout = health_timeout

        if data_dir is None:
            data_dir = tempfile.mkdtemp(prefix="emaket-stack-")
        self.data_dir = Path(data_dir).resolve()
        self.log_dir = Path(log_dir).resolve() if log_dir is not None else self.data_dir / "logs"

        self._procs: dict[str, subprocess.Popen] = {}

    # ---------------------------------------------------------------- info

    def url(self, name: str) -> str:
        return f"http://{HOST}:{self.ports[name]}"

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def log_tail(self, name: str, lines: int = LOG_TAIL_LINES) -> str:
        try:
            with open(self.log_path(name), "r", encoding="utf-8", errors="replace") as f:
                return "".join(deque(f, maxlen=lines))
        except FileNotFoundError:
            return "(no log file)\n"

    def replicas(self, name: str) -> list[str]:
        """The process names of every replica of ``name`` (``name`` itself first)."""
        base = base_name(name)
        return [n for n in self.names if base_name(n) == base]

    def pid(self, name: str) -> int | None:
        proc = self._procs.get(name)
        return proc.pid if proc is not None else None

    def is_running(self, name: str) -> bool:
        proc = self._procs.get(name)
        return proc is not None and proc.poll() is None

    def exited(self) -> dict[str, int]:
        """Processes started and not stopped through this object that have
        exited on their own: name -> exit status (negative: killed by signal)."""
        return {n: p.returncode for n, p in self._procs.items() if p.poll() is not None}

    def check_ports_free(self, names: Iterable[str] | None = None) -> list[str]:
        """Descriptions (``"<name> (127.0.0.1:<port>)"``) of the ports that are
        taken, for ``names`` (default: all processes not running under this stack)."""
        if names is None:
            names = [n for n in self.names if not self.is_running(n)]
        return [f"{n} ({HOST}:{self.ports[n]})" for n in names if not port_is_free(self.ports[n])]

    def env_for(self, name: str, extra_env: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": self.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "DEV_MODE": "true" if self.dev_mode else "false",
            "DATA_DIR": str(self.data_dir),
            "BIND_HOST": HOST,
            "PYTHONUNBUFFERED": "1",
        })
        if self.dev_mode:
            # The key set the dev-mode gateway writes under DATA_DIR; never one inherited from the caller.
            env["INTERNAL_JWKS"] = str(dev_paths(self.data_dir)[1])
        if "sandbox" in self.ports:
            env["SANDBOX_URL"] = self.url("sandbox")
        if name == "gateway":
            for var, upstream in GATEWAY_UPSTREAMS.items():
                if upstream in self.ports:
                    env[var] = self.url(upstream)
        # Loopback calls must never go through an HTTP proxy from the environment.
        for var in ("NO_PROXY", "no_proxy"):
            current = [h for h in env.get(var, "").split(",") if h]
            for h in ("127.0.0.1", "localhost"):
                if h not in current:
                    current.append(h)
            env[var] = ",".join(current)
        env.update(self.extra_env)
        env.update(self.process_env.get(base_name(name), {}))
        env.update(self.process_env.get(name, {}))
        env.update(extra_env or {})
        return env

    # ------------------------------------------------------------ starting

    def start(self, timeout: float | None = None) -> "Stack":
        """Start every process and wait until each answers ``GET /healthz``
        with 200. Refuses to start anything if a port is taken. On failure,
        stops what it started and raises :class:`StackError` with the log tail."""
        running = [n for n in self.names if self.is_running(n)]
        if running:
            raise StackError(f"already running: {', '.join(running)}")
        taken = self.check_ports_free()
        if taken:
            raise PortsInUseError(taken)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + (self.health_timeout if timeout is None else timeout)
        try:
            # First instances first, then their replicas: a service's first start sets things up once
            # (dev keys under DATA_DIR), which replicas then only read.
            for wave in ([n for n in self.names if n == base_name(n)], [n for n in self.names if n != base_name(n)]):
                for name in wave:
                    self._spawn(name)
                if wave:
                    self._wait_healthy(wave, max(0.0, deadline - time.monotonic()))
        except BaseException:
            self.stop()
            raise
        return self

    def start_process(self, name: str, extra_env: Mapping[str, str] | None = None,
                      *, wait: bool = True, timeout: float | None = None) -> None:
        """Start one process (not running) with ``extra_env`` for this run only;
        with ``wait`` (default) wait for its health like :meth:`start`.
        If it does not get healthy it is stopped and :class:`StackError` raised."""
        self._check_name(name)
        if self.is_running(name):
            raise StackError(f"{name} is already running (pid {self._procs[name].pid})")
        self._reap(name)
        if not port_is_free(self.ports[name]):
            raise PortsInUseError([f"{name} ({HOST}:{self.ports[name]})"])
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._spawn(name, extra_env)
        if wait:
            try:
                self._wait_healthy([name], self.health_timeout if timeout is None else timeout)
            except BaseException:
                self.stop(name)
                raise

    def restart(self, name: str, extra_env: Mapping[str, str] | None = None,
                *, wait: bool = True, timeout: float | None = None) -> None:
        """Stop ``name`` (gracefully) and start it again."""
        self.stop(name)
        self.start_process(name, extra_env, wait=wait, timeout=timeout)

    def _check_name(self, name: str) -> None:
        if name not in self.modules:
            raise ValueError(f"unknown process {name!r}; known: {', '.join(self.names)}")

    def _spawn(self, name: str, extra_env: Mapping[str, str] | None = None) -> None:
        port = self.ports[name]
        cmd = [sys.executable, "-m", "uvicorn", self.modules[name], "--factory",
               "--host", HOST, "--port", str(port), "--log-level", "warning", "--loop", "uvloop", "--http", "httptools",
               # uvicorn access lines carry IINs in paths and queries: personal data stays out of logs.
               "--no-access-log",
               # uvicorn's own lines (tracebacks) through the masking JSON formatter, from the first one.
               "--log-config", str(self._log_config(name))]
        with open(self.log_path(name), "ab") as log:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            extra = f" with {', '.join(f'{k}={v}' for k, v in extra_env.items())}" if extra_env else ""
            log.write(f"\n===== {stamp} starting {name} on {HOST}:{port}{extra} =====\n".encode())
            log.flush()
            proc = subprocess.Popen(
                cmd,
                cwd=str(PROJECT_ROOT),
                env=self.env_for(name, extra_env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own session and process group
            )
        self._procs[name] = proc
        _live_stacks.add(self)

    def _log_config(self, name: str) -> Path:
        path = self.data_dir / f"{name}.logging.json"
        path.write_text(json.dumps(uvicorn_log_config(base_name(name))), encoding="utf-8")
        return path

    def _wait_healthy(self, names: list[str], timeout: float) -> None:
        pending = list(names)
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=httpx.Timeout(2.0, connect=1.0), trust_env=False) as client:
            while pending:
                for name in list(pending):
                    proc = self._procs[name]
                    if proc.poll() is not None:
                        raise StackError(
                            f"{name} exited with status {proc.returncode} before it was healthy "
                            f"(port {self.ports[name]}). Last {LOG_TAIL_LINES} lines of "
                            f"{self.log_path(name)}:\n{self.log_tail(name)}"
                        )
                    try:
                        r = client.get(self.url(name) + "/healthz")
                        if r.status_code == 200:
                            pending.remove(name)
                    except httpx.HTTPError:
                        pass
                if not pending:
                    return
                if time.monotonic() >= deadline:
                    details = "\n".join(
                        f"--- {n} (port {self.ports[n]}), last {LOG_TAIL_LINES} lines of "
                        f"{self.log_path(n)}:\n{self.log_tail(n)}"
                        for n in pending
                    )
                    raise StackError(
                        f"not healthy after {timeout:.0f} s: {', '.join(pending)}\n{details}"
                    )
                time.sleep(POLL_INTERVAL)

    def wait_ready(self, timeout: float = 60.0) -> dict:
        """Wait until the gateway's ``GET /readyz`` answers 200 (every service has its database, its broker
        and its consumers in their groups), and return that answer; StackError with the last answer if not."""
        if "gateway" not in self.names:
            raise StackError("wait_ready asks the gateway, which this stack does not run")
        deadline = time.monotonic() + timeout
        last = "no answer"
        with httpx.Client(timeout=httpx.Timeout(5.0, connect=1.0), trust_env=False) as client:
            while True:
                try:
                    r = client.get(self.url("gateway") + "/readyz")
                    if r.status_code == 200:
                        return r.json()
                    last = r.text[:2000]
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}"
                if time.monotonic() >= deadline:
                    raise StackError(f"not ready after {timeout:.0f} s; the gateway's /readyz said: {last}")
                time.sleep(POLL_INTERVAL)

    # ------------------------------------------------------------ stopping

    def stop(self, name: str | None = None, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM the process group, wait up to ``timeout`` s, then SIGKILL.
        With no name: every process, signalled in reverse start order."""
        if name is not None:
            self._check_name(name)
            names = [name]
        else:
            names = [n for n in reversed(self.names) if n in self._procs]
        deadlines: dict[str, float] = {}
        for n in names:
            proc = self._procs.get(n)
            if proc is None:
                continue
            if proc.poll() is None:
                _signal_group(proc, signal.SIGTERM)
            deadlines[n] = time.monotonic() + timeout
        for n in names:
            proc = self._procs.get(n)
            if proc is None:
                continue
            try:
                proc.wait(max(0.0, deadlines[n] - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
            self._reap(n)
        if not self._procs:
            _live_stacks.discard(self)

    def kill(self, name: str) -> int:
        """SIGKILL the process group at once (crash simulation); returns the status."""
        self._check_name(name)
        proc = self._procs.get(name)
        if proc is None:
            raise StackError(f"{name} is not running")
        if proc.poll() is None:
            _signal_group(proc, signal.SIGKILL)
        code = proc.wait()
        self._reap(name)
        return code

    def wait_exit(self, name: str, timeout: float) -> int:
        """Wait until ``name`` exits by itself; returns its exit status.
        Raises ``TimeoutError`` if it is still running after ``timeout`` s."""
        self._check_name(name)
        proc = self._procs.get(name)
        if proc is None:
            raise StackError(f"{name} was not started (or was already stopped)")
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"{name} still running after {timeout} s") from None

    def _reap(self, name: str) -> None:
        proc = self._procs.get(name)
        if proc is not None and proc.poll() is not None:
            del self._procs[name]

    # ----------------------------------------------------- context manager

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    # The child leads its own process group (start_new_session=True).
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:  # pragma: no cover
        proc.send_signal(sig)
