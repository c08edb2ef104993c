"""SMS gateway and portal personal cabinet, reached over httpx. Both deduplicate by message id."""

from __future__ import annotations

from common.http import ResilientClient


class Delivery:
    def __init__(self, sms: ResilientClient, cabinet: ResilientClient) -> None:
        self._sms = sms
        self._cabinet = cabinet

    async def send_sms(self, *, message_id: str, phone: str, text: str, kind: str) -> int:
        response = await self._sms.request(
            "POST", "/sms-gateway/messages", json={"message_id": message_id, "phone": phone, "text": text, "kind": kind}
        )
        return response.status_code

    async def post_cabinet(
        self, *, message_id: str, iin: str, application_id: str, kind: str, text_kk: str, text_ru: str
    ) -> int:
        response = await self._cabinet.request(
            "POST",
            "/cabinet/messages",
            json={
                "message_id": message_id,
                "iin": iin,
                "application_id": application_id,
                "kind": kind,
                "text_kk": text_kk,
                "text_ru": text_ru,
            },
        )
        return response.status_code
