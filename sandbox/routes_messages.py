"""SMS gateway and portal personal cabinet: where notifications are delivered.

Both deduplicate by ``message_id``: the first delivery answers 202, a repeat
answers 200 with the stored message and stores nothing new (whatever its body).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from sandbox.models import CabinetMessageIn, SandboxModel, SmsIn
from sandbox.store import utc_now

router = APIRouter()


async def _accept(
    request: Request, response: Response, table: dict[str, dict[str, Any]], body: SandboxModel, message_id: str
) -> dict[str, Any]:
    async with request.app.state.store.lock:
        existing = table.get(message_id)
        if existing is not None:
            response.status_code = 200
            return existing
        message = {**body.public(), "status": "accepted", "received_at": utc_now()}
        table[message_id] = message
    return message


@router.post("/sms-gateway/messages", status_code=202, tags=["SMS gateway"], summary="Send an SMS")
async def send_sms(body: SmsIn, request: Request, response: Response) -> dict[str, Any]:
    """Stands in for the SMS gateway used by the proactive-service notifications."""
    return await _accept(request, response, request.app.state.store.sms, body, body.message_id)


@router.post("/cabinet/messages", status_code=202, tags=["portal cabinet"], summary="Put a message into the cabinet")
async def post_cabinet_message(body: CabinetMessageIn, request: Request, response: Response) -> dict[str, Any]:
    """Stands in for the e-gov portal personal cabinet (notifications in kk and ru)."""
    return await _accept(request, response, request.app.state.store.cabinet, body, body.message_id)
