"""Registries behind the e-government gateway (ШЭП), reached over httpx.

Every answer is kept as evidence: the case file must show what the decision
relied on (B§19-1, Annex 7).
"""

from __future__ import annotations

from datetime import datetime, timezone

from common.http import ResilientClient


class EgovRegistries:
    def __init__(self, client: ResilientClient) -> None:
        self._client = client
        self.evidence: list[dict] = []

    def session(self) -> "EgovRegistries":
        """A fresh evidence log per check, sharing the client and its circuit breaker."""
        return EgovRegistries(self._client)

    async def _get(self, label: str, path: str, params: dict | None = None) -> dict | None:
        response = await self._client.request("GET", path, params=params)
        body = response.json() if response.headers.get("content-type", "").endswith("json") else None
        self.evidence.append(
            {
                "registry": (body or {}).get("registry") or label,
                "query": label,
                "status": response.status_code,
                "answer": body,
                "received_at": datetime.now(timezone.utc).isoformat(),
            }
        )
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return body

    async def person(self, iin: str) -> dict | None:
        return await self._get("persons", f"/egov/persons/{iin}")

    async def death(self, iin: str) -> dict | None:
        return await self._get("civil.deaths", f"/egov/civil/deaths/{iin}")

    async def recipient_periods(self, iin: str) -> list[dict]:
        body = await self._get("pensions.recipients", f"/egov/pensions/recipients/{iin}")
        return (body or {}).get("items", [])

    async def bank_accounts(self, iin: str) -> list[dict]:
        body = await self._get("bank_accounts", "/egov/bank-accounts", params={"iin": iin})
        return (body or {}).get("items", [])

    async def legal_entity(self, bin_: str) -> dict | None:
        return await self._get("legal_entities", f"/egov/legal-entities/{bin_}")

    async def _list(self, label: str, path: str, iin: str) -> list[dict]:
        body = await self._get(label, path, params={"iin": iin})
        return (body or {}).get("items", [])

    async def disabilities(self, iin: str) -> list[dict]:
        return await self._list("disabilities", "/egov/disabilities", iin)

    async def births(self, iin: str) -> list[dict]:
        return await self._list("civil.births", "/egov/births", iin)

    async def marriages(self, iin: str) -> list[dict]:
        return await self._list("civil.marriages", "/egov/marriages", iin)

    async def adoptions(self, iin: str) -> list[dict]:
        return await self._list("civil.adoptions", "/egov/adoptions", iin)

    async def guardianships(self, iin: str) -> list[dict]:
        return await self._list("education.guardianships", "/egov/guardianships", iin)

    async def studies(self, iin: str) -> list[dict]:
        return await self._list("education.studies", "/egov/studies", iin)

    async def court_declarations(self, iin: str) -> list[dict]:
        return await self._list("courts.declarations", "/egov/courts/declarations", iin)
