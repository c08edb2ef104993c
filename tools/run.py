"""``make run``: the whole backend on this machine, in the foreground.

* PostgreSQL: ``DATABASE_URL`` if set (used as given); otherwise an embedded
  PostgreSQL whose data persists in ``<data dir>/pg``, database ``emaket``.
* Kafka: ``KAFKA_BOOTSTRAP_SERVERS`` if set; otherwise librdkafka's mock
  cluster (``python -m tools.mock_kafka``) as a child process (in memory).
* Then every process of docs/design.md on its default port (override one with
  ``<NAME>_PORT``, e.g. ``GATEWAY_PORT=9000``, ``SANDBOX_PORT=9010``), logs in
  ``<data dir>/logs/``. The data dir is ``DATA_DIR`` or ``.data`` in the project.

Ctrl-C (or SIGTERM) stops everything and exits 0. If a process dies while
running, everything is stopped and the exit status is 1.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from tools.stack import DEFAULT_PORTS, PROCESSES, Stack, StackError, port_is_free

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATABASE_NAME = "emaket"


class _Shutdown(BaseException):
    """Raised from the signal handler to leave whatever we are doing."""


# One proactive burial case, copy-paste ready (the README explains each step).
EXAMPLE = """Try one case (copy and paste into another terminal):
  G={gateway}; S={sandbox}
  curl -s -X POST $S/sandbox/fixtures -H 'content-type: application/json' -d '{{"persons": [{{"iin": "410314300012", "last_name": "Ахметов", "first_name": "Серік", "birth_date": "1941-03-14"}}], "deaths": [{{"iin": "410314300012", "date": "2026-11-20"}}], "recipients": [{{"iin": "410314300012", "kind": "age_pension", "from": "2001-03-14", "to": null}}], "births": [{{"child_iin": "790303402568", "father_iin": "410314300012", "date": "1979-03-03"}}], "bank_accounts": [{{"iin": "790303402568", "iban": "KZ86125KZT5004100100"}}]}}'
  TOKEN=$(curl -s -X POST $G/api/v1/dev/token -H 'content-type: application/json' -d '{{"role": "mobile"}}' | python3 -c 'import sys, json; print(json.load(sys.stdin)["access_token"])')
  curl -s -X POST $G/api/v1/applications -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -H "Idempotency-Key: try-$RANDOM" -d '{{"benefit": "burial", "channel": "proactive", "applicant": {{"iin": "790303402568"}}, "phone": "+77011234567", "consents": {{"personal_data": true, "proactive": true}}, "bank_account": {{"iban": "KZ86125KZT5004100100"}}, "deceased_iin": "410314300012"}}'
  sleep 5; curl -s "$G/api/v1/applications?applicant_iin=790303402568" -H "Authorization: Bearer $TOKEN"
  curl -s $S/sandbox/payments; curl -s "$S/sandbox/sms?phone=%2B77011234567"
"""


def say(msg: str = "") -> None:
    print(msg, flush=True)


def err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _ports_from_env() -> dict[str, int]:
    ports = dict(DEFAULT_PORTS)
    for name in ports:
        var = f"{name.upper()}_PORT"
        value = os.environ.get(var)
        if value:
            try:
                ports[name] = int(value)
            except ValueError:
                err(f"{var}={value!r} is not a port number.")
                sys.exit(1)
    return ports


def main() -> int:
    data_dir = Path(os.environ.get("DATA_DIR") or PROJECT_ROOT / ".data").resolve()
    log_dir = data_dir / "logs"
    ports = _ports_from_env()

    # 1. Ports first: refuse before starting anything.
    taken = [(name, ports[name]) for name, _ in PROCESSES if not port_is_free(ports[name])]
    if taken:
        for name, port in taken:
            err(f"Port {port} on 127.0.0.1 is already in use, but the {name} process needs it.")
        err("Nothing was started. Stop whatever is listening there (find it with: "
            + "; ".join(f"lsof -nP -iTCP:{port} -sTCP:LISTEN" for _, port in taken)
            + ") or give the process another port, e.g. "
            + " ".join(f"{n.upper()}_PORT=<free port>" for n, _ in taken) + " make run")
        return 1

    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:
            return  # already shutting down; let the cleanup finish
        stopping = True
        raise _Shutdown()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    cleanups: list[tuple[str, object]] = []  # (label, callable), run in reverse order
    exit_code = 0
    log_files = []
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        log_dir.mkdir(parents=True, exist_ok=True)

        # 2. PostgreSQL
        database_url = os.environ.get("DATABASE_URL")
        if database_url:
            say("PostgreSQL: using DATABASE_URL from the environment.")
        else:
            from tools.pg import create_database, embedded_server, with_database

            say(f"PostgreSQL: starting the embedded server (data in {data_dir / 'pg'}) ...")
            admin_url, stop_pg = embedded_server(data_dir / "pg")
            cleanups.append(("embedded PostgreSQL", stop_pg))
            create_database(admin_url, DATABASE_NAME)
            database_url = with_database(admin_url, DATABASE_NAME)
            say(f"PostgreSQL: ready, database {DATABASE_NAME!r}: {database_url}")

        # 3. Kafka
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        kafka_proc = None
        if bootstrap:
            say(f"Kafka: using KAFKA_BOOTSTRAP_SERVERS={bootstrap}")
        else:
            from tools.mock_kafka import start_mock_kafka, stop_mock_kafka

            kafka_log = open(log_dir / "kafka.log", "ab")
            log_files.append(kafka_log)
            kafka_proc, bootstrap = start_mock_kafka(stderr=kafka_log)
            cleanups.append(("mock Kafka", lambda: stop_mock_kafka(kafka_proc)))
            say(f"Kafka: mock cluster (in memory) at {bootstrap}")

        # 4. The processes
        stack = Stack(database_url=database_url, kafka_bootstrap=bootstrap, ports=ports,
                      log_dir=log_dir, data_dir=data_dir, dev_mode=True)
        say(f"Starting {', '.join(stack.names)} (logs in {log_dir}) ...")
        cleanups.append(("services", stack.stop))
        stack.start()
        # Up is not ready: wait until every service has its database, its broker and its consumers in their
        # groups (the gateway's /readyz), so the example below is served the moment it is printed.
        say("Waiting until every service is ready (gateway /readyz) ...")
        stack.wait_ready()

        say("")
        say("e-Maket is running and ready.")
        say(f"  Gateway (public API):  {stack.url('gateway')}")
        say(f"  API documentation:     {stack.url('gateway')}/docs")
        say(f"  Event contract:        {stack.url('gateway')}/asyncapi.json (AsyncAPI 3.0)")
        say(f"  Readiness:             {stack.url('gateway')}/readyz")
        say(f"  Sandbox (fake e-gov, payments, SMS, cabinet): {stack.url('sandbox')}")
        for name in stack.names:
            say(f"  {name + ' health:':<22} {stack.url(name)}/healthz")
        say(f"  Logs:                  {log_dir}")
        say("")
        say(EXAMPLE.format(gateway=stack.url("gateway"), sandbox=stack.url("sandbox")).rstrip())
        say('More in README.md, section "Try one case by hand".')
        say("Press Ctrl-C to stop everything.")

        # 5. Watch
        while True:
            dead = stack.exited()
            if dead:
                for name, code in dead.items():
                    how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
                    err(f"{name} stopped unexpectedly ({how}). "
                        f"Last lines of {stack.log_path(name)}:\n{stack.log_tail(name)}")
                exit_code = 1
                break
            if kafka_proc is not None and kafka_proc.poll() is not None:
                err(f"The mock Kafka stopped unexpectedly (exit status {kafka_proc.returncode}); "
                    f"see {log_dir / 'kafka.log'}.")
                exit_code = 1
                break
            time.sleep(0.5)
    except _Shutdown:
        say("\nStopping ...")
        exit_code = 0
    except KeyboardInterrupt:
        say("\nStopping ...")
        exit_code = 0
    except StackError as exc:
        err(f"Could not start: {exc}")
        exit_code = 1
    except Exception as exc:  # anything else during start-up
        err(f"Could not start: {type(exc).__name__}: {exc}")
        exit_code = 1
    finally:
        stopping = True  # further signals are ignored while cleaning up
        for label, fn in reversed(cleanups):
            try:
                fn()  # type: ignore[operator]
            except BaseException as exc:  # keep cleaning up the rest
                err(f"While stopping {label}: {type(exc).__name__}: {exc}")
        for f in log_files:
            f.close()
        if exit_code == 0:
            say("Stopped.")
        else:
            err("Stopped everything.")
    return exit_code


if __name__ == "__main__":
    try:
        code = main()
    except (_Shutdown, KeyboardInterrupt):  # a signal between two steps of the cleanup
        code = 0
    sys.exit(code)
