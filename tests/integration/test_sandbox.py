"""The sandbox of external systems, driven in-process through ASGI."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sandbox.app import SandboxSettings, create_app

PROBLEM = "application/problem+json"

DECEASED = "450101300123"
WIDOW = "500202400456"
CHILD = "100303500789"
FATHER = "700404300111"
COMPANY_BIN = "990340001234"

ORDER = {
    "decision_id": "d-1",
    "application_id": "a-1",
    "iin": WIDOW,
    "amount_kzt": 206_352,
    "iban": "KZ86125KZT5004100100",
    "benefit": "burial",
    "purpose": "Единовременная выплата на погребение",
}


def _client(hang_seconds: float = 0.05) -> httpx.AsyncClient:
    app = create_app(hang_seconds=hang_seconds, settings=SandboxSettings(DEV_MODE=True))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with _client() as c:
        yield c


def _fixtures() -> dict[str, Any]:
    return {
        "persons": [
            {"iin": DECEASED, "last_name": "Ахметов", "first_name": "Серик", "birth_date": "1945-01-01"},
            {
                "iin": WIDOW,
                "last_name": "Ахметова",
                "first_name": "Гульнар",
                "birth_date": "1950-02-02",
                "phone": "+77011234567",
            },
        ],
        "deaths": [{"iin": DECEASED, "date": "2025-10-01"}],
        "court_declarations": [{"iin": FATHER, "kind": "missing", "date": "2024-05-05"}],
        "births": [{"child_iin": CHILD, "mother_iin": WIDOW, "father_iin": FATHER, "date": "2010-03-03"}],
        "marriages": [{"iin_a": DECEASED, "iin_b": WIDOW, "date": "1970-06-06", "dissolved_on": None}],
        "adoptions": [{"child_iin": CHILD, "parent_iin": DECEASED, "date": "2012-01-01"}],
        "disabilities": [
            {"iin": WIDOW, "group": 2, "cause": "general_illness", "established_on": "2020-01-01", "until": None}
        ],
        "recipients": [{"iin": DECEASED, "kind": "age_pension", "from": "2008-01-01", "to": "2025-10-01"}],
        "studies": [{"iin": CHILD, "form": "full_time", "from": "2024-09-01", "to": None}],
        "bank_accounts": [{"iin": WIDOW, "iban": "KZ86125KZT5004100100"}],
        "legal_entities": [{"bin": COMPANY_BIN, "name": "ТОО Ритуал"}],
        "guardianships": [{"child_iin": CHILD, "guardian_iin": WIDOW, "from": "2015-01-01", "to": None}],
    }


async def test_healthz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_fixture_merge_is_idempotent_and_upserts(client: httpx.AsyncClient) -> None:
    r = await client.post("/sandbox/fixtures", json=_fixtures())
    assert r.status_code == 200
    assert r.json()["loaded"] == {name: len(v) for name, v in _fixtures().items()}

    # The same set again: nothing duplicated.
    r = await client.post("/sandbox/fixtures", json=_fixtures())
    assert r.json()["loaded"]["persons"] == 2
    assert r.json()["loaded"]["recipients"] == 1

    # A changed person replaces the old one; another recipient period is appended.
    r = await client.post(
        "/sandbox/fixtures",
        json={
            "persons": [{"iin": DECEASED, "last_name": "Ахмет", "first_name": "Серик", "birth_date": "1945-01-01"}],
            "recipients": [{"iin": DECEASED, "kind": "social_benefit", "from": "2000-01-01", "to": "2007-12-31"}],
        },
    )
    assert r.json()["posted"]["persons"] == 1
    assert r.json()["loaded"]["persons"] == 2
    assert r.json()["loaded"]["recipients"] == 2
    assert (await client.get(f"/egov/persons/{DECEASED}")).json()["last_name"] == "Ахмет"
    items = (await client.get(f"/egov/pensions/recipients/{DECEASED}")).json()["items"]
    assert [i["kind"] for i in items] == ["age_pension", "social_benefit"]

    # An empty body is a valid (empty) merge.
    r = await client.post("/sandbox/fixtures", json={})
    assert r.status_code == 200
    assert r.json()["loaded"]["persons"] == 2


async def test_clear_forgets_fixtures_and_records_but_keeps_faults(client: httpx.AsyncClient) -> None:
    await client.post("/sandbox/fixtures", json=_fixtures())
    assert (await client.post("/payments-db/orders", json=ORDER)).status_code == 201
    sms = {"message_id": "m-1", "phone": "+77011234567", "text": "Өтінішіңіз қабылданды", "kind": "received"}
    assert (await client.post("/sms-gateway/messages", json=sms)).status_code == 202
    cab = {
        "message_id": "c-1",
        "iin": WIDOW,
        "application_id": "a-1",
        "kind": "received",
        "text_kk": "Өтініш қабылданды",
        "text_ru": "Заявление принято",
    }
    assert (await client.post("/cabinet/messages", json=cab)).status_code == 202
    await client.post("/sandbox/faults", json={"system": "egov", "latency_ms": 1})

    r = await client.delete("/sandbox/fixtures")
    assert r.status_code == 200
    body = r.json()
    assert body["cleared"]["persons"] == 2
    assert body["cleared"]["payments"] == 1
    assert body["cleared"]["sms"] == 1
    assert body["cleared"]["cabinet"] == 1
    assert all(count == 0 for count in body["loaded"].values())

    assert (await client.get(f"/egov/persons/{WIDOW}")).status_code == 404
    assert (await client.get("/sandbox/payments")).json() == {"items": []}
    assert (await client.get("/sandbox/sms")).json() == {"items": []}
    assert (await client.get("/sandbox/cabinet")).json() == {"items": []}
    faults = (await client.get("/sandbox/faults")).json()["items"]
    assert [f["system"] for f in faults] == ["egov"]


async def test_registry_lookups(client: httpx.AsyncClient) -> None:
    await client.post("/sandbox/fixtures", json=_fixtures())

    r = await client.get(f"/egov/persons/{WIDOW}")
    assert r.status_code == 200
    person = r.json()
    assert person["first_name"] == "Гульнар"
    assert person["phone"] == "+77011234567"
    assert person["registry"] == "ГБД ФЛ"
    assert person["answered_at"].endswith("Z")

    r = await client.get("/egov/persons/111111111111")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["registry"] == "ГБД ФЛ"
    assert "111111111111" not in r.json()["detail"]

    death = (await client.get(f"/egov/civil/deaths/{DECEASED}")).json()
    assert (death["iin"], death["date"], death["registry"]) == (DECEASED, "2025-10-01", "ИС ЗАГС")
    assert (await client.get(f"/egov/civil/deaths/{WIDOW}")).status_code == 404

    recipients = (await client.get(f"/egov/pensions/recipients/{DECEASED}")).json()
    assert recipients["items"] == [{"iin": DECEASED, "kind": "age_pension", "from": "2008-01-01", "to": "2025-10-01"}]
    assert "answered_at" in recipients and "registry" in recipients
    assert (await client.get(f"/egov/pensions/recipients/{WIDOW}")).json()["items"] == []

    entity = (await client.get(f"/egov/legal-entities/{COMPANY_BIN}")).json()
    assert entity["name"] == "ТОО Ритуал"
    assert (await client.get("/egov/legal-entities/000000000000")).status_code == 404

    # Births match child, mother or father.
    for iin in (CHILD, WIDOW, FATHER):
        births = (await client.get("/egov/births", params={"iin": iin})).json()
        assert len(births["items"]) == 1, iin
        assert births["registry"] == "ИС ЗАГС"
    assert (await client.get("/egov/births", params={"iin": DECEASED})).json()["items"] == []

    # Marriages match either side.
    for iin in (DECEASED, WIDOW):
        assert len((await client.get("/egov/marriages", params={"iin": iin})).json()["items"]) == 1

    adoptions = (await client.get("/egov/adoptions", params={"iin": DECEASED})).json()["items"]
    assert adoptions == [{"child_iin": CHILD, "parent_iin": DECEASED, "date": "2012-01-01"}]
    disabilities = (await client.get("/egov/disabilities", params={"iin": WIDOW})).json()
    assert disabilities["items"][0]["group"] == 2
    assert disabilities["registry"] == "ЦБДИ"
    studies = (await client.get("/egov/studies", params={"iin": CHILD})).json()["items"]
    assert studies[0]["from"] == "2024-09-01"
    accounts = (await client.get("/egov/bank-accounts", params={"iin": WIDOW})).json()["items"]
    assert accounts == [{"iin": WIDOW, "iban": "KZ86125KZT5004100100"}]
    court = (await client.get("/egov/courts/declarations", params={"iin": FATHER})).json()["items"]
    assert court == [{"iin": FATHER, "kind": "missing", "date": "2024-05-05"}]

    # Malformed or missing IIN → 422 problem.
    r = await client.get("/egov/persons/12345")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM)
    r = await client.get("/egov/births")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "query.iin"


async def test_payment_order_dedup_by_decision(client: httpx.AsyncClient) -> None:
    r = await client.post("/payments-db/orders", json=ORDER)
    assert r.status_code == 201
    order = r.json()
    assert order["status"] == "accepted"
    assert {k: order[k] for k in ORDER} == ORDER
    assert order["order_id"] and order["created_at"]

    r = await client.post("/payments-db/orders", json=ORDER)
    assert r.status_code == 200
    assert r.json()["order_id"] == order["order_id"]

    r = await client.post("/payments-db/orders", json={**ORDER, "amount_kzt": 1})
    assert r.status_code == 409
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["differing_fields"] == ["amount_kzt"]
    assert r.json()["order_id"] == order["order_id"]

    assert (await client.get("/payments-db/orders/d-1")).json()["order_id"] == order["order_id"]
    assert (await client.get("/payments-db/orders/nope")).status_code == 404

    await client.post("/payments-db/orders", json={**ORDER, "decision_id": "d-2", "iin": DECEASED})
    assert len((await client.get("/sandbox/payments")).json()["items"]) == 2
    mine = (await client.get("/sandbox/payments", params={"iin": WIDOW})).json()["items"]
    assert [o["decision_id"] for o in mine] == ["d-1"]
    assert mine[0]["received_at"]

    paid = (await client.post("/sandbox/payments/d-1/paid")).json()
    assert paid["status"] == "paid" and paid["paid_at"]
    # A retry after payment is still the same order, not a conflict.
    assert (await client.post("/payments-db/orders", json=ORDER)).status_code == 200


async def test_payment_order_validation(client: httpx.AsyncClient) -> None:
    r = await client.post("/payments-db/orders", json={**ORDER, "amount_kzt": 0, "iin": "12"})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"amount_kzt", "iin"}


async def test_sms_and_cabinet_dedup(client: httpx.AsyncClient) -> None:
    sms = {"message_id": "m-1", "phone": "+77011234567", "text": "Тест", "kind": "registered"}
    assert (await client.post("/sms-gateway/messages", json=sms)).status_code == 202
    r = await client.post("/sms-gateway/messages", json=sms)
    assert r.status_code == 200
    assert r.json()["message_id"] == "m-1"
    await client.post("/sms-gateway/messages", json={**sms, "message_id": "m-2", "phone": "+77770000000"})

    items = (await client.get("/sandbox/sms", params={"phone": "+77011234567"})).json()["items"]
    assert len(items) == 1
    assert items[0]["text"] == "Тест" and items[0]["received_at"]
    # A raw "+" in a query string arrives as a space; phones still match.
    assert len((await client.get("/sandbox/sms?phone=+77011234567")).json()["items"]) == 1
    assert [m["message_id"] for m in (await client.get("/sandbox/sms")).json()["items"]] == ["m-1", "m-2"]

    cab = {
        "message_id": "c-1",
        "iin": WIDOW,
        "application_id": "a-1",
        "kind": "assigned",
        "text_kk": "Тағайындалды",
        "text_ru": "Назначено",
    }
    assert (await client.post("/cabinet/messages", json=cab)).status_code == 202
    assert (await client.post("/cabinet/messages", json=cab)).status_code == 200
    items = (await client.get("/sandbox/cabinet", params={"iin": WIDOW})).json()["items"]
    assert len(items) == 1 and items[0]["text_ru"] == "Назначено"
    assert (await client.get("/sandbox/cabinet", params={"iin": DECEASED})).json()["items"] == []


async def test_fail_next_gives_exactly_n_503s_then_success(client: httpx.AsyncClient) -> None:
    r = await client.post("/sandbox/faults", json={"system": "sms", "fail_next": 2})
    assert r.status_code == 200
    sms = {"message_id": "m-1", "phone": "+77011234567", "text": "Тест", "kind": "registered"}

    statuses = [(await client.post("/sms-gateway/messages", json=sms)).status_code for _ in range(4)]
    assert statuses == [503, 503, 202, 200]

    failed = await client.post("/sandbox/faults", json={"system": "sms", "fail_next": 1})
    assert failed.json()["fail_next"] == 1
    r = await client.post("/sms-gateway/messages", json=sms)
    assert r.status_code == 503
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["system"] == "sms"

    # Only the failed system is affected; admin endpoints never are.
    await client.post("/sandbox/faults", json={"system": "sms", "fail_next": 5})
    assert (await client.post("/payments-db/orders", json=ORDER)).status_code == 201
    assert (await client.get("/sandbox/sms")).status_code == 200
    assert (await client.get("/healthz")).status_code == 200

    calls = (await client.get("/sandbox/calls", params={"system": "sms"})).json()["items"]
    assert [c["status"] for c in calls] == [503, 503, 202, 200, 503]
    assert [c["fault"] for c in calls] == ["error", "error", None, None, "error"]
    assert all(c["method"] == "POST" and c["path"] == "/sms-gateway/messages" for c in calls)

    assert (await client.delete("/sandbox/faults")).json() == {"items": []}
    assert (await client.post("/sms-gateway/messages", json=sms)).status_code == 200


async def test_call_log_masks_iins(client: httpx.AsyncClient) -> None:
    await client.get(f"/egov/persons/{WIDOW}")
    await client.get("/egov/births", params={"iin": CHILD})
    calls = (await client.get("/sandbox/calls", params={"system": "egov"})).json()["items"]
    assert [c["path"] for c in calls] == ["/egov/persons/********0456", "/egov/births?iin=********0789"]
    assert [c["status"] for c in calls] == [404, 200]
    assert all(c["at"] for c in calls)


async def test_invalid_fault_settings_are_422_problems(client: httpx.AsyncClient) -> None:
    r = await client.post("/sandbox/faults", json={"system": "egov", "error_rate": 1.5})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM)
    assert [e["field"] for e in r.json()["errors"]] == ["error_rate"]
    assert "error_rate" in r.json()["detail"]

    r = await client.post("/sandbox/faults", json={"system": "egov", "timeout_rate": -0.1})
    assert [e["field"] for e in r.json()["errors"]] == ["timeout_rate"]

    r = await client.post("/sandbox/faults", json={"system": "egov", "error_rate": 0.7, "timeout_rate": 0.5})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["timeout_rate"]

    r = await client.post("/sandbox/faults", json={"system": "mail", "error_rate": 0.1})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["system"]

    assert (await client.get("/sandbox/faults")).json() == {"items": []}


async def test_unknown_enum_in_fixtures_is_422_and_nothing_is_stored(client: httpx.AsyncClient) -> None:
    body = _fixtures()
    body["disabilities"][0]["cause"] = "bad_luck"
    r = await client.post("/sandbox/fixtures", json=body)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM)
    assert [e["field"] for e in r.json()["errors"]] == ["disabilities[0].cause"]
    assert (await client.get(f"/egov/persons/{WIDOW}")).status_code == 404

    r = await client.post("/sandbox/fixtures", json={"recipients": [{"iin": DECEASED, "kind": "x", "from": "2000-01-01"}]})
    assert [e["field"] for e in r.json()["errors"]] == ["recipients[0].kind"]

    r = await client.post("/sandbox/fixtures", json={"pets": []})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["pets"]


async def test_seeded_error_rate_is_reproducible() -> None:
    async def run() -> list[int]:
        async with _client() as c:
            await c.post("/sandbox/faults", json={"system": "egov", "error_rate": 0.5, "seed": 42})
            return [(await c.get("/egov/recipients", params={"iin": WIDOW})).status_code for _ in range(30)]

    first, second = await run(), await run()
    assert first == second
    assert set(first) == {200, 503}


async def test_timeout_applies_the_call_then_withholds_the_answer() -> None:
    async with _client(hang_seconds=0.3) as c:
        await c.post("/sandbox/faults", json={"system": "payments", "timeout_next": 1, "latency_ms": 20})
        started = time.perf_counter()
        r = await c.post("/payments-db/orders", json=ORDER)
        assert time.perf_counter() - started >= 0.3
        assert r.status_code == 201  # a real client would have given up long before
        assert len((await c.get("/sandbox/payments")).json()["items"]) == 1

        started = time.perf_counter()
        assert (await c.post("/payments-db/orders", json=ORDER)).status_code == 200
        elapsed = time.perf_counter() - started
        assert 0.02 <= elapsed < 0.3
        calls = (await c.get("/sandbox/calls", params={"system": "payments"})).json()["items"]
        assert [c_["fault"] for c_ in calls] == ["timeout", None]
        faults = (await c.get("/sandbox/faults")).json()["items"]
        assert faults[0]["timeout_next"] == 0


@pytest.mark.parametrize("env", [{}, {"DEV_MODE": "false"}, {"DEV_MODE": "1"}])
def test_the_sandbox_refuses_to_start_outside_dev_mode(monkeypatch, env):
    """Issue 6 point 2: its fixtures invent deaths; it never runs beside production settings."""
    monkeypatch.delenv("DEV_MODE", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises((RuntimeError, ValueError)):
        create_app()


def test_the_sandbox_refuses_a_non_loopback_bind(monkeypatch):
    monkeypatch.setenv("DEV_MODE", "true")
    monkeypatch.setenv("BIND_HOST", "0.0.0.0")
    with pytest.raises(ValueError, match="loopback"):
        create_app()
