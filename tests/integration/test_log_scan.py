"""No personal data in any log line (guarantee 8): SQL errors, uvicorn's own lines, hostile input, a whole case.

Every test logs with the people below and then scans every line that was written: none of their
IINs, phones, IBANs or names may appear as they are.
"""

from __future__ import annotations

import json
import logging
import logging.config
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from common.audit import install_audit
from common.db import make_engine
from common.identifiers import make_iin
from common.logging import JsonFormatter, configure_logging, uvicorn_log_config
from services.intake import app as intake_app
from services.intake.settings import IntakeSettings
from tests.callers import caller_headers
from tests.integration.helpers import IBAN, new_deceased
from tests.integration.test_intake import Intake, burial
from tests.integration.test_intake_benefits import SERVICE, checked, deliver
from tools.stack import Stack, free_ports

# The people of these tests: distinct from every other test's (birth year 1937, phone prefix +7708).
APPLICANT = make_iin(date(1937, 2, 3), "F", 91)
CITIZEN = make_iin(date(1937, 2, 4), "M", 92)
PHONE = "+77081234599"
PHONE_8 = "87081234599"
OTHER_IBAN = "KZ75125KZT2069100100"
LAST, FIRST, PATRONYMIC = "Жұмабекова", "Әйгерім", "Серікқызы"
LATIN_FIRST, LATIN_LAST = "Aigerim", "Zhumabekova"
PERSONAL = [APPLICANT, CITIZEN, PHONE, PHONE[1:], PHONE_8, IBAN, OTHER_IBAN, LAST, FIRST, PATRONYMIC, LATIN_FIRST, LATIN_LAST]


def leaks(lines: list[str]) -> list[tuple[str, str]]:
    return [(value, line) for line in lines for value in PERSONAL if value in line]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging and dictConfig change process-wide loggers: put them back afterwards."""
    names = ["", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"]
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate, logging.getLogger(n).level) for n in names}
    yield
    for n, (handlers, propagate, level) in saved.items():
        logger = logging.getLogger(n)
        logger.handlers[:] = handlers
        logger.propagate = propagate
        logger.setLevel(level)


def personal_exception() -> BaseException:
    try:
        person = {"iin": APPLICANT, "first_name": FIRST, "last_name": LAST, "middle_name": PATRONYMIC}
        raise RuntimeError(
            f"payee {LAST} {FIRST} {PATRONYMIC} (first_name={LATIN_FIRST!r}, last_name={LATIN_LAST!r}) phone {PHONE} iban {IBAN}: {person}"
        )
    except RuntimeError as exc:
        return exc


# --- the database's errors ------------------------------------------------------------------


async def test_a_database_error_carries_no_parameters(fresh_database, capsys, restore_logging):
    """A NUL or an out-of-range value refused by PostgreSQL: neither the error nor its log line shows the values."""
    configure_logging("intake")
    engine = make_engine(fresh_database(), schema="public")
    statements = [
        # NUL in a name: PostgreSQL refuses the text; SQLAlchemy used to print every parameter with it.
        ("SELECT CAST(:iin AS text), CAST(:first AS text), CAST(:last AS text), CAST(:phone AS text), CAST(:iban AS text)",
         {"iin": APPLICANT, "first": FIRST + "\x00", "last": LAST, "phone": PHONE, "iban": IBAN}),
        # Out of range for a smallint, beside the personal parameters.
        ("SELECT CAST(:iin AS text), CAST(:first AS text), CAST(:n AS smallint)", {"iin": APPLICANT, "first": FIRST, "n": 10**30}),
        # A name where a number belongs: asyncpg quotes the refused value itself.
        ("SELECT CAST(:n AS smallint), CAST(:iin AS text)", {"n": f"{LAST} {FIRST}", "iin": APPLICANT}),
    ]
    errors = []
    try:
        for statement, params in statements:
            with pytest.raises(DBAPIError) as info:
                async with engine.begin() as conn:
                    await conn.execute(text(statement), params)
            errors.append(info.value)
            logging.getLogger("services.intake.handlers").error("statement failed", exc_info=info.value)
    finally:
        await engine.dispose()
    assert "hidden due to hide_parameters" in str(errors[0])
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and all(json.loads(line)["exc"] for line in lines)
    assert leaks(lines) == []
    assert leaks([str(e) for e in errors[:2]]) == []


# --- uvicorn's own lines -------------------------------------------------------------------


def test_uvicorn_lines_are_masked_once_the_service_configures_logging(capsys, restore_logging):
    """uvicorn configured its loggers with handlers of its own; configure_logging takes them over."""
    from uvicorn.config import LOGGING_CONFIG

    logging.config.dictConfig(LOGGING_CONFIG)  # what `python -m uvicorn` does before the app starts
    configure_logging("intake")
    logging.getLogger("uvicorn.error").error("Exception in ASGI application", exc_info=personal_exception())
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/api/v1/applications?applicant_iin={CITIZEN}", "1.1", 200)
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).splitlines()
    entries = [json.loads(line) for line in lines]  # every line is the service's JSON, none uvicorn's text
    assert [e["logger"] for e in entries] == ["uvicorn.error", "uvicorn.access"]
    assert f"********{APPLICANT[-4:]}" in entries[0]["exc"] and "А***" not in entries[0]["exc"]
    assert "Ж*** Ә*** С***" in entries[0]["exc"]
    assert leaks(lines) == []


def leaky_app():
    """A stand-in process for tools.stack: it never configures logging itself (like the sandbox) and
    answers /boom with an exception full of personal data, which uvicorn logs with its traceback."""

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["path"] == "/boom":
            raise personal_exception()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})

    return app


def test_a_served_process_writes_uvicorn_tracebacks_masked(tmp_path):
    """tools/stack.py starts uvicorn with the masking --log-config: its traceback of a crash is JSON and masked."""
    stack = Stack(
        "postgresql+asyncpg://x@127.0.0.1/none", "127.0.0.1:9", ports={"sandbox": free_ports(1)[0]},
        data_dir=tmp_path, processes=[("sandbox", "tests.integration.test_log_scan:leaky_app")], health_timeout=30,
    )
    with stack:
        r = httpx.get(stack.url("sandbox") + "/boom", timeout=10)
        assert r.status_code == 500
    lines = [line for line in stack.log_path("sandbox").read_text(encoding="utf-8").splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("=====")]  # the stack's own "starting" banner
    entries = [json.loads(line) for line in lines]
    assert any(e["logger"] == "uvicorn.error" and "RuntimeError" in e.get("exc", "") for e in entries)
    assert leaks(lines) == []


# --- intake under hostile input and one whole case ------------------------------------------------


@pytest.fixture
async def intake(fresh_database, kafka_bootstrap, monkeypatch) -> AsyncIterator[Intake]:
    """Intake's real app, logging at DEBUG, with the audit trail installed."""
    monkeypatch.setattr(intake_app, "consumers", lambda runtime: [])
    settings = IntakeSettings(
        DATABASE_URL=fresh_database(), KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, DEV_MODE=True, LOG_LEVEL="DEBUG"
    )
    app = intake_app.create_app(settings)
    install_audit(app, "intake")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
            yield Intake(http, app.state.runtime.sessions)


def _proactive() -> dict:
    return burial("proactive", applicant=APPLICANT, deceased=new_deceased(), phone=PHONE) | {"bank_account": {"iban": IBAN}}


def _names() -> dict:
    return {"first_name": FIRST, "last_name": LAST, "patronymic": PATRONYMIC, "full_name": f"{LATIN_FIRST} {LATIN_LAST}"}


def _hostile_bodies() -> list[bytes | str]:
    raw = json.dumps(_proactive(), ensure_ascii=False)
    return [
        raw.replace('"deceased_iin"', '"x": NaN, "deceased_iin"'),
        raw.replace('"deceased_iin"', '"x": 1e400, "deceased_iin"'),
        raw.replace('"consents"', f'"note": "{LAST}\\u0000{FIRST}", "consents"'),
        raw.replace('"consents"', f'"note": "\\ud800{PATRONYMIC}", "consents"'),
        raw.replace('"consents"', '"deep": ' + "[" * 60 + "]" * 60 + ', "consents"'),
        raw.replace(f'"{PHONE}"', f'"{PHONE_8}\\u0000"'),
        raw.replace(f'"{IBAN}"', f'"{OTHER_IBAN}", "holder_name": "{LAST} {FIRST}"'),
        json.dumps(_proactive() | {"applicant": {"iin": int(APPLICANT), **_names()}}, ensure_ascii=False),
        json.dumps(_proactive() | {"consents": {"personal_data": FIRST, "proactive": True}}, ensure_ascii=False),
        json.dumps(_proactive() | {"phone": [PHONE, LAST]}, ensure_ascii=False),
        json.dumps([_proactive()], ensure_ascii=False),
        raw.encode("utf-8")[:-7] + b"\xff\xfe",
        raw.replace('"applicant"', '"applicant": {"iin": "' + CITIZEN + '"}, "applicant"'),  # a duplicate key
    ]


async def test_hostile_input_and_a_whole_case_leave_no_personal_data_in_any_log_line(intake, capfd, caplog):
    """Guarantee 8 end to end in the service: every line written (JSON to stderr) and every record kept."""
    caplog.set_level(logging.DEBUG)
    mobile = caller_headers("mobile", "mobile-backend") | {"content-type": "application/json"}
    statuses = []
    for body in _hostile_bodies():
        payload = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
        r = await intake.http.post("/api/v1/applications", content=payload, headers=mobile | {"Idempotency-Key": str(uuid.uuid4())})
        statuses.append(r.status_code)

    assert all(400 <= s < 500 or s == 202 for s in statuses) and statuses.count(422) >= 10, statuses

    # One whole case: filed, listed and read by the citizen and staff, documents asked for and attached.
    body = _proactive()
    r = await intake.submit(body, role="mobile", sub="mobile-backend")
    assert r.status_code == 202, r.text
    app = r.json()
    requested = [{"type": "death_certificate", "about": body["deceased_iin"], "reason": f"no record of {LAST} {FIRST}"}]
    await deliver(intake, SERVICE.on_eligibility_checked, checked(app, automated=False, requested=requested))
    operator = caller_headers("operator", "operator-1")
    for facts in ({"note": "a\u0000b", **_names()}, {"holder": f"{LAST} {FIRST} {PATRONYMIC}", "iban": IBAN, "phone": PHONE}):
        documents = {"documents": [{"type": "death_certificate", "about": body["deceased_iin"], "facts": facts}]}
        r = await intake.http.post(f"/api/v1/applications/{app['id']}/documents", json=documents, headers=operator)
        assert r.status_code in (200, 422), r.text
    for caller, params in (
        (caller_headers("citizen", APPLICANT), {"applicant_iin": APPLICANT}),
        (caller_headers("citizen", CITIZEN), {"applicant_iin": APPLICANT}),
        (operator, {"applicant_iin": APPLICANT}),
        (operator, {"applicant_iin": f"{APPLICANT}\x00{LAST}"}),
    ):
        r = await intake.http.get("/api/v1/applications", params=params, headers=caller)
        assert r.status_code in (200, 422), r.text  # never the audit's 503: a hostile filter is recorded too
    r = await intake.http.get(f"/api/v1/applications/{APPLICANT}%00{FIRST}", headers=operator)
    assert r.status_code == 422, r.text
    await intake.http.get(f"/api/v1/applications/{app['id']}", headers=caller_headers("citizen", CITIZEN))
    await intake.http.get(f"/api/v1/applications/{app['id']}", headers=operator)
    r = await intake.http.get("/api/v1/ops/audit", params={"actor_sub": CITIZEN}, headers=caller_headers("ops", "ops-1"))
    assert r.status_code == 200 and r.json()["items"]
    assert leaks([r.text]) == []  # the trail itself keeps IINs masked

    captured = capfd.readouterr()
    lines = (captured.out + captured.err).splitlines()
    formatter = JsonFormatter("intake")
    lines += [formatter.format(record) for record in caplog.records]
    # The scan saw the lines that matter: the audit lines name the citizen, masked.
    assert any(f"citizen:********{CITIZEN[-4:]}" in line for line in lines)
    assert leaks(lines) == [], leaks(lines)[:3]


def test_the_log_config_given_to_uvicorn_uses_the_masking_formatter(capsys, restore_logging):
    """The dictConfig tools/stack.py writes: root and uvicorn's loggers end in the JSON formatter."""
    logging.config.dictConfig(uvicorn_log_config("sandbox"))
    logging.getLogger("uvicorn.error").error("boom", exc_info=personal_exception())
    line = capsys.readouterr().err.strip()
    assert json.loads(line)["service"] == "sandbox"
    assert leaks([line]) == []

