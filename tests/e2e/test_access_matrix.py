"""Issue 6 point 3: the exact answer for every role × route, through the gateway to the real services.

401 — no acceptable token; 403 — the role may not call the route (gateway) or may not do this (service);
404 — the thing is not there *for this caller* (a citizen never learns that someone else's case exists);
422 — the role may call the route and the (deliberately empty) body is refused before anything changes.
The README's "Security" section lists the same rights in words.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from tests.e2e.conftest import burial_body, new_iin, new_phone, seed_deceased

OWNER = "citizen (own case)"
STRANGER = "citizen (someone else's)"
CALLERS = ("no token", OWNER, STRANGER, "mobile", "operator", "specialist", "ops")

# route -> expected status per caller, in CALLERS order.
MATRIX: dict[str, tuple[int, ...]] = {
    #                                              none owner other mobile oper spec ops
    "POST /api/v1/applications {}":               (401, 422, 422, 422, 422, 422, 403),
    "GET /api/v1/applications":                   (401, 200, 200, 200, 200, 200, 200),
    "GET /api/v1/applications/{app}":             (401, 200, 404, 200, 200, 200, 200),
    "GET /api/v1/applications/{missing}":         (401, 404, 404, 404, 404, 404, 404),
    "POST /api/v1/applications/{app}/documents {}": (401, 403, 403, 403, 422, 403, 403),
    "GET /api/v1/decisions":                      (401, 403, 403, 403, 403, 200, 200),
    "GET /api/v1/decisions/follow-ups":           (401, 403, 403, 403, 403, 200, 200),
    "GET /api/v1/decisions/{decision}":           (401, 200, 404, 403, 403, 200, 200),
    "GET /api/v1/decisions/{decision}/verification": (401, 200, 404, 403, 403, 200, 200),
    "POST /api/v1/decisions/{decision}/sign {}":  (401, 403, 403, 403, 403, 422, 403),
    "GET /api/v1/ops/intake/dead-letters":        (401, 403, 403, 403, 403, 403, 200),
    "POST /api/v1/ops/decision/dead-letters/999999999/replay": (401, 403, 403, 403, 403, 403, 404),
    "GET /api/v1/ops/sla":                        (401, 403, 403, 403, 403, 403, 200),
    "GET /api/v1/ops/sandbox/dead-letters":       (404, 404, 404, 404, 404, 404, 404),
    "GET /api/v1/nowhere":                        (404, 404, 404, 404, 404, 404, 404),
}


@pytest.fixture
async def case(api):
    """One proactive burial with its decision drafted: the owner is the applicant."""
    deceased, fixtures = seed_deceased(died="2026-10-05")
    await api.seed(**fixtures)
    owner = new_iin()
    r = await api.submit(burial_body(channel="proactive", applicant_iin=owner, deceased_iin=deceased, phone=new_phone()), role="mobile")
    assert r.status_code == 202, r.text
    app_id = r.json()["id"]
    deadline = time.monotonic() + 30
    while (app := await api.get(app_id))["decision"] is None:
        assert time.monotonic() < deadline, app
        await asyncio.sleep(0.2)
    return {"owner": owner, "app": app_id, "decision": app["decision"]["id"], "missing": str(uuid.uuid4())}


async def _headers(api, who: str, owner: str) -> dict[str, str]:
    if who == "no token":
        return {}
    if who == OWNER:
        return await api.auth("citizen", owner)
    if who == STRANGER:
        return await api.auth("citizen", new_iin())
    return await api.auth(who, f"{who}-matrix")


async def test_every_role_gets_exactly_its_answer_on_every_route(api, case):
    mismatches = []
    for route, expected in MATRIX.items():
        method, _, rest = route.partition(" ")
        path, _, body = rest.partition(" ")
        path = path.format(**case)
        for who, status in zip(CALLERS, expected, strict=True):
            headers = await _headers(api, who, case["owner"]) | {"Idempotency-Key": str(uuid.uuid4())}
            r = await api.gw.request(method, path, json={} if body else None, headers=headers)
            if r.status_code != status:
                mismatches.append(f"{route} as {who}: {r.status_code}, wanted {status}: {r.text[:160]}")
            elif status >= 400:
                assert r.headers["content-type"].startswith("application/problem+json"), (route, who)
    assert not mismatches, "\n".join(mismatches)
    assert len(MATRIX) * len(CALLERS) == 105
