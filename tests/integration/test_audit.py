"""The audit trail (common/audit.py, guarantee 8): append-only, hash-chained, attributed, queryable by ops.

Runs on intake's real app and schema; the chain is the same for every service.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from common.audit import Entry, RequestAudit, append_now, audit_table, install_audit, verify_chain
from common.db import make_engine
from services.intake import app as intake_app
from services.intake.settings import IntakeSettings
from tests.callers import caller_headers
from tests.integration.helpers import migrated, new_iin
from tests.integration.test_intake import Intake, proactive

PROJECT_ROOT = Path(__file__).resolve().parents[2]
AUDIT = audit_table("intake")


def entry(n: int, **change) -> Entry:
    fields = dict(
        service="intake",
        actor_role="operator",
        actor_sub=f"operator-{n}",
        action="GET /api/v1/applications/{application_id}",
        subject=str(uuid.uuid4()),
        request_id=str(uuid.uuid4()),
        outcome=200,
    )
    return Entry(**(fields | change))


async def chain(engine) -> list[dict]:
    async with engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(select(AUDIT).order_by(AUDIT.c.id))).mappings()]


@pytest.fixture
async def audit_db(fresh_database) -> AsyncIterator[tuple[str, object]]:
    url = fresh_database()
    async with migrated(url, "intake"):
        engine = make_engine(url, schema="intake", pool_size=10)
        try:
            yield url, engine
        finally:
            await engine.dispose()


async def test_concurrent_appends_make_one_unforked_chain(audit_db):
    """20 requests appending at once: one chain, each row naming the one before, nothing lost."""
    _, engine = audit_db
    results = await asyncio.gather(*(append_now(engine, entry(n)) for n in range(20)), return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    rows = await chain(engine)
    assert len(rows) == 20
    assert verify_chain(rows)[2] is None
    assert len({r["prev_hash"] for r in rows}) == 20  # no two rows continue the same head: no fork
    assert [r["prev_hash"] for r in rows[1:]] == [r["hash"] for r in rows[:-1]]


async def test_the_database_refuses_to_change_or_remove_a_row(audit_db):
    """Append-only is the database's rule, not the code's: UPDATE, DELETE and TRUNCATE are refused."""
    _, engine = audit_db
    row_id = await append_now(engine, entry(1))
    for statement in (
        f"UPDATE audit_log SET actor_sub = 'someone-else' WHERE id = {row_id}",
        f"DELETE FROM audit_log WHERE id = {row_id}",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
    assert [r["actor_sub"] for r in await chain(engine)] == ["operator-1"]


def verify_command(url: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=url)
    return subprocess.run(
        [sys.executable, "-m", "tools.audit", "verify", "--service", "intake"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


async def tamper(engine, statement: str) -> None:
    """What only a superuser can do: switch the trigger off, change history, switch it on."""
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        await conn.execute(text(statement))
        await conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))


async def test_verify_names_the_first_broken_link(audit_db):
    """`python -m tools.audit verify`: exit 0 on an intact chain; exit 1 naming exactly the tampered row."""
    url, engine = audit_db
    ids = [await append_now(engine, entry(n)) for n in range(5)]

    intact = await asyncio.to_thread(verify_command, url)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "intake: 5 rows, chain intact" in intact.stdout

    await tamper(engine, f"UPDATE audit_log SET actor_sub = 'nobody' WHERE id = {ids[2]}")
    rows = {r["id"]: r for r in await chain(engine)}
    broken = await asyncio.to_thread(verify_command, url)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"intake: chain broken at id {ids[2]}: hash expected " in broken.stdout
    assert f"found {rows[ids[2]]['hash']}" in broken.stdout


async def test_verify_names_the_row_after_a_removed_one(audit_db):
    """A row deleted from the middle: the next row no longer names its predecessor's hash."""
    url, engine = audit_db
    ids = [await append_now(engine, entry(n)) for n in range(4)]
    before = {r["id"]: r for r in await chain(engine)}
    await tamper(engine, f"DELETE FROM audit_log WHERE id = {ids[1]}")
    broken = await asyncio.to_thread(verify_command, url)
    assert broken.returncode == 1
    assert (
        f"intake: chain broken at id {ids[2]}: prev_hash expected {before[ids[0]]['hash']}, found {before[ids[1]]['hash']}"
        in broken.stdout
    )


# --- through the service's API -------------------------------------------------------------


@pytest.fixture
async def audited(fresh_database, kafka_bootstrap, monkeypatch) -> AsyncIterator[Intake]:
    """Intake's real app with the audit trail installed (as common/service.py does), consumers left out."""
    monkeypatch.setattr(intake_app, "consumers", lambda runtime: [])
    settings = IntakeSettings(DATABASE_URL=fresh_database(), KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, DEV_MODE=True)
    app = intake_app.create_app(settings)
    install_audit(app, "intake")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
            yield Intake(http, app.state.runtime.sessions)


async def audit_rows(intake: Intake) -> list[dict]:
    async with intake.sessions() as session:
        return [dict(r) for r in (await session.execute(select(AUDIT).order_by(AUDIT.c.id))).mappings()]


async def test_every_request_is_attributed_and_a_change_is_audited_in_its_own_transaction(audited):
    """Who did what to which case, with the status; the filing's row commits with the application."""
    citizen = new_iin()
    r = await audited.submit(proactive(), role="mobile", sub="mobile-backend")
    assert r.status_code == 202, r.text
    app_id = r.json()["id"]
    ops = caller_headers("ops", "ops-1")
    assert (await audited.http.get(f"/api/v1/applications/{app_id}", headers=caller_headers("operator", "operator-7"))).status_code == 200
    assert (await audited.http.get(f"/api/v1/applications/{app_id}", headers=caller_headers("citizen", citizen))).status_code == 404
    assert (await audited.http.get("/api/v1/applications", params={"applicant_iin": citizen}, headers=caller_headers("citizen", citizen))).status_code == 200
    assert (await audited.http.get(f"/api/v1/applications/{app_id}")).status_code == 401  # no one to attribute: no row

    rows = await audit_rows(audited)
    assert [(r["actor_role"], r["actor_sub"], r["action"], r["subject"], r["outcome"]) for r in rows] == [
        ("mobile", "mobile-backend", "POST /api/v1/applications", app_id, 202),
        ("operator", "operator-7", "GET /api/v1/applications/{application_id}", app_id, 200),
        ("citizen", f"********{citizen[-4:]}", "GET /api/v1/applications/{application_id}", app_id, 404),
        ("citizen", f"********{citizen[-4:]}", "GET /api/v1/applications", f"applicant_iin=********{citizen[-4:]}", 200),
    ]
    assert all(r["request_id"] and r["service"] == "intake" for r in rows)
    assert citizen not in str(rows)  # IINs only masked in the trail
    assert verify_chain(rows)[2] is None

    # The filing's row was written by the transaction that stored the application (same xmin).
    async with audited.sessions() as session:
        app_xmin = await session.scalar(text("SELECT xmin::text FROM applications WHERE id = :id"), {"id": app_id})
        row_xmin = await session.scalar(text("SELECT xmin::text FROM audit_log WHERE id = :id"), {"id": rows[0]["id"]})
    assert app_xmin == row_xmin

    # Ops read it, filtered and paginated; anyone else is refused.
    r = await audited.http.get("/api/v1/ops/audit", params={"subject": app_id}, headers=ops)
    assert r.status_code == 200, r.text
    assert [i["id"] for i in r.json()["items"]] == [row["id"] for row in rows[:3]]
    r = await audited.http.get("/api/v1/ops/audit", params={"actor_sub": citizen, "limit": 1}, headers=ops)
    assert [i["id"] for i in r.json()["items"]] == [rows[2]["id"]] and r.json()["next_after_id"] == rows[2]["id"]
    r = await audited.http.get("/api/v1/ops/audit", params={"actor_sub": citizen, "after_id": rows[2]["id"]}, headers=ops)
    assert [i["id"] for i in r.json()["items"]] == [rows[3]["id"]] and r.json()["next_after_id"] is None
    assert (await audited.http.get("/api/v1/ops/audit", params={"limit": 10_000}, headers=ops)).status_code == 422
    for role in ("operator", "specialist", "citizen", "mobile"):
        r = await audited.http.get("/api/v1/ops/audit", headers=caller_headers(role, "someone-1"))
        assert r.status_code == 403, (role, r.text)

    # The ops reads are in the trail too.
    reads = [r for r in await audit_rows(audited) if r["action"] == "GET /api/v1/ops/audit"]
    assert [(r["actor_sub"], r["outcome"]) for r in reads][:3] == [("ops-1", 200)] * 3


async def test_an_answer_whose_row_cannot_be_written_is_not_given(audited, monkeypatch):
    """No disclosure without its record: if the trail refuses the row, the read becomes a 503 with nothing of the case."""
    r = await audited.submit(proactive(), role="mobile")
    app_id = r.json()["id"]

    async def broken(engine, entry):
        raise ConnectionError("audit database unreachable")

    monkeypatch.setattr("common.audit.append_now", broken)
    r = await audited.http.get(f"/api/v1/applications/{app_id}", headers=caller_headers("operator", "operator-7"))
    assert r.status_code == 503, r.text
    assert app_id not in r.text and "audit" in r.json()["detail"]


def test_a_hostile_path_or_filter_cannot_make_the_row_unwritable():
    """NUL or a lone surrogate in a path parameter or an IIN filter is stored as '?', the IIN still masked."""
    audit = RequestAudit(
        service="intake",
        scope={"path_params": {"application_id": "a\x00b\ud800"}, "query_string": b"applicant_iin=790303402568%00x&limit=5"},
    )
    assert audit.subject() == "a?b? applicant_iin=********2568?x"
