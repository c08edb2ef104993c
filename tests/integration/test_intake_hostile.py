"""Hostile input to the applications API: a 422 (or 4xx) naming the field, never a 500, nothing stored.

Issue 6 point 6, for the two bodies intake reads: a new application and attached documents.
"""

from __future__ import annotations

import json
import uuid

import pytest

from services.intake.adapters.orm import Application, messaging
from tests.callers import caller_headers
from tests.integration.helpers import IBAN, new_deceased, new_iin, new_phone, outbox_events
from tests.integration.test_intake import burial
from tests.integration.test_intake_benefits import intake  # noqa: F401 - the fixture


def _raw(body: dict) -> str:
    return json.dumps(body, ensure_ascii=True)


def proactive() -> dict:
    return burial("proactive", applicant=new_iin(), deceased=new_deceased(), phone=new_phone()) | {"bank_account": {"iban": IBAN}}


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda t: t.replace('"deceased_iin"', '"x": NaN, "deceased_iin"'), "x"),
        (lambda t: t.replace('"deceased_iin"', '"x": 1e400, "deceased_iin"'), "x"),
        (lambda t: t.replace('"deceased_iin"', '"x": [-Infinity], "deceased_iin"'), "x[0]"),
        (lambda t: t.replace('"deceased_iin"', '"x": 123456789012345678901234567890, "deceased_iin"'), "x"),
        (lambda t: t.replace('"consents"', '"note": "a\\u0000b", "consents"'), "note"),
        (lambda t: t.replace('"consents"', '"note": "\\ud800", "consents"'), "note"),
        (lambda t: t.replace('"consents"', '"deep": ' + "[" * 50 + "]" * 50 + ', "consents"'), "deep" + "[0]" * 32),
    ],
)
async def test_hostile_json_is_422_naming_the_field(intake, mutate, field):  # noqa: F811
    text = mutate(_raw(proactive()))
    r = await intake.http.post(
        "/api/v1/applications", content=text.encode(), headers=caller_headers("mobile") | {"content-type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert await intake.count(Application) == 0
    assert await outbox_events(intake.sessions, messaging) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"consents": {"personal_data": "yes", "proactive": True}}, "consents.personal_data"),  # a real boolean only
        ({"consents": {"personal_data": 1, "proactive": True}}, "consents.personal_data"),
        ({"phone": "+7٧٠١١٢٣٤٥٦٧"}, "phone"),  # Arabic-Indic digits are not a phone number
    ],
)
async def test_strict_types(intake, change, field):  # noqa: F811
    r = await intake.submit(proactive() | change, role="mobile")
    assert r.status_code == 422, r.text
    assert field in {e["field"] for e in r.json()["errors"]}
    assert await intake.count(Application) == 0


async def test_a_non_ascii_idempotency_key_is_refused_not_a_500(intake):  # noqa: F811
    headers = [(k.lower().encode(), v.encode()) for k, v in caller_headers("mobile").items()]
    headers += [(b"content-type", b"application/json"), (b"idempotency-key", "ключ".encode())]
    r = await intake.http.post("/api/v1/applications", content=_raw(proactive()).encode(), headers=headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == ["header.idempotency-key"]
    assert await intake.count(Application) == 0


async def test_a_document_with_a_nul_is_422_and_changes_nothing(intake):  # noqa: F811
    r = await intake.http.post(
        f"/api/v1/applications/{uuid.uuid4()}/documents",
        json={"documents": [{"type": "birth_certificate", "facts": {"note": "a\u0000b"}}]},
        headers=caller_headers("operator", "operator-1"),
    )
    assert r.status_code == 422, r.text
    assert "NUL" in json.dumps(r.json())
    assert [e["field"] for e in r.json()["errors"]] == ["documents[0].facts.note"]


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"foreign": "yes", "apostille": True}, "documents[0].foreign"),  # a real boolean only
        ({"foreign": True, "apostille": 1}, "documents[0].apostille"),
        ({"issued_on": 0}, "documents[0].issued_on"),  # not read as the Unix time 1970-01-01
    ],
)
async def test_documents_take_strict_types(intake, document, field):  # noqa: F811
    r = await intake.http.post(
        f"/api/v1/applications/{uuid.uuid4()}/documents",
        json={"documents": [{"type": "birth_certificate"} | document]},
        headers=caller_headers("operator", "operator-1"),
    )
    # Without strict types the body passes and the unknown application is a 404.
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]


async def test_listing_by_iin_takes_ascii_digits_only(intake):  # noqa: F811
    r = await intake.http.get("/api/v1/applications", params={"applicant_iin": "٩٠٠١٠١٣٠٠٠١١"}, headers=caller_headers("ops"))
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["query.applicant_iin"]
