"""The central payments database ("ОДҚ" / ЦБД), reached over httpx.

It deduplicates by decision id: placing the same order twice returns the
existing one, so a retry after a lost answer cannot pay twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from common.http import ExternalUnavailable, ResilientClient


@dataclass(frozen=True)
class Placement:
    accepted: bool
    order_id: str | None
    detail: str


class PaymentsDatabase:
    def __init__(self, client: ResilientClient) -> None:
        self._client = client

    async def place(self, order: dict) -> Placement:
        response = await self._client.request("POST", "/payments-db/orders", json=order)
        if response.status_code in (200, 201):
            order_id = _order_id(response)
            if order_id is None:  # an odd answer: a failed attempt (backoff, then `failed`), not a placement
                raise ExternalUnavailable("payments", f"answered {response.status_code} with a body of the wrong shape")
            return Placement(True, order_id, "placed")
        # 409: a different order exists for this decision; 4xx: it refuses the order. Neither heals by retrying.
        return Placement(False, None, f"payments database answered {response.status_code}: {response.text[:500]}")

    async def paid_at(self, decision_id: str) -> str | None:
        """When the payments database paid the order for this decision, or None while it has not."""
        response = await self._client.request("GET", f"/payments-db/orders/{decision_id}")
        response.raise_for_status()
        return response.json().get("paid_at")


def _order_id(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    order_id = body.get("order_id") if isinstance(body, dict) else None
    return order_id if isinstance(order_id, str) and order_id else None
