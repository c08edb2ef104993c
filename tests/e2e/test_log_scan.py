"""No personal data in any process's log file (guarantee 8), after hostile input and a whole case on the real stack.

tools/stack.py appends each process's output (uvicorn's own lines included) to ``<log dir>/<name>.log``;
every line of every file is scanned for the IINs, phones, IBANs and names this test used.
"""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest

from tests.e2e.conftest import burial_body, new_iin

pytestmark = pytest.mark.e2e

LAST, FIRST, PATRONYMIC = "Тоқтарова", "Гүлнар", "Ерланқызы"
IBAN = "KZ75125KZT2069100100"


async def test_hostile_input_and_a_whole_case_leave_no_personal_data_in_the_log_files(api):
    deceased, applicant, citizen = new_iin(date(1939, 3, 3)), new_iin(date(1971, 4, 4), "F"), new_iin(date(1972, 5, 5))
    phone = f"+7706{uuid.uuid4().int % 10_000_000:07d}"
    personal = [deceased, applicant, citizen, phone, phone[1:], IBAN, LAST, FIRST, PATRONYMIC]
    await api.seed(
        persons=[
            {"iin": deceased, "last_name": LAST, "first_name": FIRST, "birth_date": "1939-03-03"},
            {"iin": applicant, "last_name": LAST, "first_name": FIRST, "birth_date": "1971-04-04"},
        ],
        deaths=[{"iin": deceased, "date": "2026-10-05"}],
        recipients=[{"iin": deceased, "kind": "age_pension", "from": "2000-01-01", "to": None}],
    )
    body = burial_body(channel="proactive", applicant_iin=applicant, deceased_iin=deceased, phone=phone, iban=IBAN)
    mobile = await api.auth("mobile")
    raw = json.dumps(body, ensure_ascii=False)
    hostile = [
        raw.replace('"consents"', f'"note": "{LAST}\\u0000{FIRST}", "consents"'),
        raw.replace('"consents"', f'"note": "\\ud800{PATRONYMIC}", "consents"'),
        raw.replace('"deceased_iin"', '"x": NaN, "deceased_iin"'),
        raw.replace('"deceased_iin"', '"x": 1e400, "deceased_iin"'),
        raw.replace('"consents"', '"deep": ' + "[" * 60 + "]" * 60 + ', "consents"'),
        json.dumps(body | {"applicant": {"iin": int(applicant), "first_name": FIRST, "last_name": LAST}}, ensure_ascii=False),
        json.dumps(body | {"phone": [phone, PATRONYMIC]}, ensure_ascii=False),
    ]
    for text in hostile:
        headers = mobile | {"content-type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
        r = await api.gw.post("/api/v1/applications", content=text.encode("utf-8", "surrogatepass"), headers=headers)
        assert 400 <= r.status_code < 500, r.text
    r = await api.gw.post(
        f"/api/v1/applications/{uuid.uuid4()}/documents",
        json={"documents": [{"type": "death_certificate", "facts": {"note": "a\u0000b", "full_name": f"{LAST} {FIRST}"}}]},
        headers=await api.auth("operator", "operator-1"),
    )
    assert 400 <= r.status_code < 500, r.text

    r = await api.submit(body, role="mobile")
    assert r.status_code == 202, r.text
    app = await api.wait_status(r.json()["id"], {"payment_queued"})
    for role, sub in (("citizen", applicant), ("citizen", citizen), ("operator", "operator-1")):
        await api.gw.get("/api/v1/applications", params={"applicant_iin": applicant}, headers=await api.auth(role, sub))
        await api.gw.get(f"/api/v1/applications/{app['id']}", headers=await api.auth(role, sub))
    await api.gw.get(f"/api/v1/decisions/{app['decision']['id']}", headers=await api.auth("specialist", "spec-1"))

    files = sorted(api.stack.log_dir.glob("*.log"))
    assert {f.stem for f in files} >= {"gateway", "intake", "eligibility", "decision", "payment_queue", "notifier", "sandbox"}
    lines = [line for f in files for line in f.read_text(encoding="utf-8", errors="replace").splitlines()]
    # The scan read what matters: the gateway's access lines for this case are there, the IIN masked.
    assert any(app["id"] in line for line in lines)
    leaks = [(value, line[:300]) for line in lines for value in personal if value in line]
    assert leaks == [], leaks[:3]
