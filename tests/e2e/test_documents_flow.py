"""The documents path end to end (api.md Documents): what registries lack, the State Corporation operator attaches."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from common.documents import document_name
from common.law.params import burial_amount_kzt
from tests.e2e.conftest import (
    assert_read_model_consistent,
    burial_body,
    decision_detail,
    draft_for,
    new_iin,
    new_phone,
    post_documents,
    seed_deceased,
    sign,
    wait_for,
    working_days_after,
)

pytestmark = pytest.mark.e2e


async def _burial_awaiting_death_certificate(api, *, died: date, phone: str | None = None) -> tuple[dict, str]:
    """A desk burial application whose deceased has no ЗАГС death record (B-Std p.8: the certificate is needed)."""
    deceased, fixtures = seed_deceased(died=died.isoformat(), death_record=False)
    await api.seed(**fixtures)
    body = burial_body(
        channel="state_corp", applicant_iin=new_iin(date(1980, 2, 2)), deceased_iin=deceased, phone=phone
    )
    r = await api.submit(body, role="operator", sub="operator-e2e")
    assert r.status_code == 202, r.text
    app = await api.wait_status(r.json()["id"], {"awaiting_documents", "awaiting_signature", "refused"})
    assert app["status"] == "awaiting_documents", app
    return app, deceased


def _death_certificate(deceased: str, died: date, **changes) -> dict:
    return {
        "type": "death_certificate",
        "number": "DE-4471/2026",
        "issued_on": (died + timedelta(days=2)).isoformat(),
        "issued_by": "Standesamt Berlin-Mitte",
        "foreign": True,
        "apostille": True,
        "about": deceased,
        "facts": {"date": died.isoformat()},
    } | changes


async def test_burial_at_the_desk_with_a_foreign_death_certificate_is_paid_after_a_specialist_signs(api):
    """B-Std p.8: a death only a foreign apostilled document proves is payable (35 MCI at the date of death)."""
    died = date.today() - timedelta(days=20)
    app, deceased = await _burial_awaiting_death_certificate(api, died=died)
    assert [(d["type"], d.get("about")) for d in app["requested_documents"]] in (
        [("death_certificate", deceased)],
        [("death_certificate", None)],
    )
    assert app["due_by"] == working_days_after(working_days_after(app["registered_on"], 3), 5)

    attached = await post_documents(api, app["id"], [_death_certificate(deceased, died)])
    assert attached.status_code in (200, 202), attached.text
    assert attached.json()["id"] == app["id"]
    app = await api.wait_status(app["id"], {"awaiting_signature", "refused", "payment_queued"})
    assert app["status"] == "awaiting_signature"

    draft = await draft_for(api, app["id"], benefit="burial")
    amount = burial_amount_kzt(died)
    assert draft["outcome"] == "assign" and draft["amount_kzt"] == amount
    detail = await decision_detail(api, draft["id"])
    documents = [e for e in detail["evidence"] if e["source"] == "document"]
    assert documents, detail["evidence"]
    assert (await sign(api, draft["id"], {"outcome": "assign", "reasons": []})).status_code == 200
    app = await api.wait_status(app["id"], {"payment_queued"})
    assert_read_model_consistent(app)
    assert app["decision"]["amount_kzt"] == amount
    assert [p["amount_kzt"] for p in await api.payments_for({app["id"]})] == [amount]


async def test_the_documents_request_reaches_the_applicant_by_sms_in_kazakh_and_russian(api):
    """api.md Documents, Std p.10: the applicant learns which documents are needed, in kk and ru."""
    phone = new_phone()
    await _burial_awaiting_death_certificate(api, died=date.today() - timedelta(days=15), phone=phone)
    kk, ru = document_name("death_certificate", "kk"), document_name("death_certificate", "ru")
    sms = await wait_for(lambda: api.sms(phone), lambda items: any(kk in m["text"] for m in items))
    asking = [m for m in sms if kk in m["text"]]
    assert len(asking) == 1, sms
    assert asking[0]["kind"] == "documents_requested"
    assert ru in asking[0]["text"]


async def test_only_an_operator_may_attach_documents(api):
    """api.md Documents: POST .../documents is the State Corporation operator's (others → 403)."""
    died = date.today() - timedelta(days=10)
    app, deceased = await _burial_awaiting_death_certificate(api, died=died)
    citizen = new_iin(date(1980, 2, 2))
    for role, sub in (("specialist", "specialist-e2e"), ("mobile", None), ("ops", None), ("citizen", citizen)):
        r = await post_documents(api, app["id"], [_death_certificate(deceased, died)], role=role, sub=sub)
        assert r.status_code == 403, (role, r.text)
    assert (await api.get(app["id"]))["status"] == "awaiting_documents"


async def test_documents_for_an_application_not_awaiting_them_are_409(api):
    """api.md Documents: only an application in awaiting_documents takes documents."""
    deceased, fixtures = seed_deceased(died=(date.today() - timedelta(days=12)).isoformat())
    await api.seed(**fixtures)
    r = await api.submit(
        burial_body(channel="state_corp", applicant_iin=new_iin(date(1980, 2, 2)), deceased_iin=deceased),
        role="operator",
        sub="operator-e2e",
    )
    app = await api.wait_status(r.json()["id"], {"awaiting_signature"})
    attached = await post_documents(api, app["id"], [_death_certificate(deceased, date.today() - timedelta(days=12))])
    assert attached.status_code == 409, attached.text
    assert attached.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("not_requested", "documents[0].type"),  # the case asked for a death certificate only
        ("future_issue_date", "documents[0].issued_on"),
        ("foreign_without_apostille", "documents[0].apostille"),  # Std p.8: only apostilled or legalised
    ],
)
async def test_a_document_the_case_cannot_take_is_422_naming_the_field(api, case, field):
    """api.md Documents: a type not asked for, a future issued_on, a foreign document without apostille → 422."""
    died = date.today() - timedelta(days=9)
    app, deceased = await _burial_awaiting_death_certificate(api, died=died)
    document = {
        "not_requested": _death_certificate(deceased, died, type="birth_certificate"),
        "future_issue_date": _death_certificate(
            deceased, died, issued_on=(date.today() + timedelta(days=3)).isoformat()
        ),
        "foreign_without_apostille": _death_certificate(deceased, died, apostille=False),
    }[case]
    r = await post_documents(api, app["id"], [document])
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in r.json()["errors"]}
    if case == "foreign_without_apostille":
        assert any(f.startswith("documents[0]") for f in fields), fields  # apostille (or the document as a whole)
    else:
        assert field in fields, fields
    after = await api.get(app["id"])
    assert after["status"] == "awaiting_documents" and after["due_by"] == app["due_by"]
