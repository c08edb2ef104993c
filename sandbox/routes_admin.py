"""``/sandbox/*``: what tests use to set up the external world and inspect it.

Not part of any real system: loads registry fixtures, shows what was sent to
the payments database / SMS gateway / cabinet, sets faults, shows the call log.
Faults never apply here.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request

from common.problems import Problem
from sandbox.faults import FaultBook
from sandbox.models import FaultIn, FixtureSet, System
from sandbox.store import SandboxStore, utc_now

router = APIRouter(prefix="/sandbox", tags=["sandbox admin"])


def _store(request: Request) -> SandboxStore:
    return request.app.state.store


def _faults(request: Request) -> FaultBook:
    return request.app.state.faults


def _digits(value: str) -> str:
    """Phone numbers compared by digits only (``+`` in a raw query string turns into a space)."""
    return re.sub(r"\D", "", value)


# --- fixtures ---------------------------------------------------------------


@router.post("/fixtures", summary="Merge a fixture set into the registries")
async def merge_fixtures(body: FixtureSet, request: Request) -> dict[str, Any]:
    store = _store(request)
    async with store.lock:
        posted = store.merge(body)
        loaded = store.fixture_counts()
    return {"posted": posted, "loaded": loaded}


@router.get("/fixtures", summary="Show every loaded fixture record")
async def show_fixtures(request: Request) -> dict[str, Any]:
    store = _store(request)
    return {"loaded": store.fixture_counts(), "fixtures": store.dump()}


@router.delete("/fixtures", summary="Clear fixtures, sent records and the call log (faults stay)")
async def clear_fixtures(request: Request) -> dict[str, Any]:
    store = _store(request)
    async with store.lock:
        cleared = {**store.fixture_counts(), **store.sent_counts(), "calls": len(store.calls)}
        store.clear()
        loaded = store.fixture_counts()
    return {"cleared": cleared, "loaded": loaded}


# --- what was sent out ------------------------------------------------------


@router.get("/payments", summary="Payment orders placed in the payments database")
async def list_payments(request: Request, iin: str | None = None) -> dict[str, Any]:
    orders = _store(request).payments.values()
    return {"items": [o for o in orders if iin is None or o["iin"] == iin]}


@router.post("/payments/{decision_id}/paid", summary="Mark a payment order as paid (payments database confirms)")
async def confirm_payment(decision_id: str, request: Request) -> dict[str, Any]:
    store = _store(request)
    async with store.lock:
        order = store.payments.get(decision_id)
        if order is None:
            raise Problem(404, "not-found", f"No payment order for decision {decision_id}.")
        if order["status"] != "paid":
            order["status"] = "paid"
            order["paid_at"] = utc_now()
    return order


@router.get("/sms", summary="SMS messages handed to the SMS gateway")
async def list_sms(request: Request, phone: str | None = None) -> dict[str, Any]:
    wanted = _digits(phone) if phone is not None else None
    messages = _store(request).sms.values()
    return {"items": [m for m in messages if wanted is None or _digits(m["phone"]) == wanted]}


@router.get("/cabinet", summary="Messages put into personal cabinets")
async def list_cabinet(
    request: Request, iin: str | None = None, application_id: str | None = None
) -> dict[str, Any]:
    messages = _store(request).cabinet.values()
    return {
        "items": [
            m
            for m in messages
            if (iin is None or m["iin"] == iin) and (application_id is None or m["application_id"] == application_id)
        ]
    }


@router.get("/calls", summary="Log of calls to external-system endpoints (IINs masked)")
async def list_calls(request: Request, system: System | None = None) -> dict[str, Any]:
    calls = _store(request).calls
    return {"items": [c for c in calls if system is None or c["system"] == system]}


# --- faults -----------------------------------------------------------------


@router.post("/faults", summary="Set (replace) the faults of one external system")
async def set_faults(body: FaultIn, request: Request) -> dict[str, Any]:
    return _faults(request).set(body).public()


@router.get("/faults", summary="Current fault settings")
async def show_faults(request: Request) -> dict[str, Any]:
    return {"items": _faults(request).items()}


@router.delete("/faults", summary="Clear all faults")
async def clear_faults(request: Request) -> dict[str, list[Any]]:
    _faults(request).clear()
    return {"items": []}
