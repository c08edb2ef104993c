"""One OpenAPI document for the public API: the gateway's own routes plus
every upstream's `/api/v1` paths as the gateway exposes them."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from common.openapi import document_problems, problem_statuses
from gateway.routes import public_path, resolve

log = logging.getLogger(__name__)

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_REF_PREFIX = "#/components/schemas/"
BEARER_SCHEME = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}

Document = dict[str, Any]


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    """A copy of `node` with `$ref`s to renamed schemas pointing at their new names."""
    if isinstance(node, dict):
        out = {key: _rewrite_refs(value, renames) for key, value in node.items()}
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX) and ref[len(_REF_PREFIX) :] in renames:
            out["$ref"] = _REF_PREFIX + renames[ref[len(_REF_PREFIX) :]]
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node


def _renames(service: str, theirs: dict[str, Any], ours: dict[str, Any]) -> dict[str, str]:
    """Names to prefix with the service: those clashing with a different schema already merged.

    Repeated until stable, because renaming one schema changes the content of
    every schema that refers to it, which may then clash in turn.
    """
    renames: dict[str, str] = {}
    while True:
        clashing = {
            name
            for name, schema in theirs.items()
            if name in ours and ours[name] != _rewrite_refs(schema, renames)
        }
        if clashing <= renames.keys():
            return renames
        renames.update({name: f"{service}_{name}" for name in clashing})


def _refs(node: Any) -> set[str]:
    """Schema names `node` refers to directly."""
    if isinstance(node, dict):
        found = set().union(*(_refs(value) for value in node.values()))
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            found.add(ref[len(_REF_PREFIX) :])
        return found
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node))
    return set()


def _reachable(schemas: dict[str, Any], roots: Any) -> dict[str, Any]:
    """The schemas the public paths use, directly or through other schemas; internal ones stay out."""
    seen: set[str] = set()
    pending = _refs(roots)
    while pending:
        name = pending.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        pending |= _refs(schemas[name])
    return {name: schema for name, schema in schemas.items() if name in seen}


def _merge_upstream(merged: Document, service: str, upstream: Document, operation_ids: set[str]) -> None:
    paths = {
        public: item
        for path, item in upstream.get("paths", {}).items()
        if (public := public_path(service, path)) is not None and public not in merged["paths"]
    }
    schemas = merged["components"]["schemas"]
    theirs = _reachable(upstream.get("components", {}).get("schemas", {}), paths)
    renames = _renames(service, theirs, schemas)
    for name, schema in theirs.items():
        schemas.setdefault(renames.get(name, name), _rewrite_refs(schema, renames))
    for public, item in paths.items():
        item = _rewrite_refs(item, renames)
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                _annotate(operation, service, method, public, operation_ids)
        merged["paths"][public] = item


def _annotate(operation: dict[str, Any], service: str, method: str, path: str, operation_ids: set[str]) -> None:
    # Every service has the same ops routes, hence the same generated operation ids.
    op_id = operation.get("operationId")
    if op_id in operation_ids:
        operation["operationId"] = op_id = f"{service}_{op_id}"
    if op_id:
        operation_ids.add(op_id)
    target = resolve(method.upper(), path)
    if target is not None:
        roles = ", ".join(sorted(target.roles))
        operation["description"] = (operation.get("description", "") + f"\n\nRoles: {roles}.").strip()
        operation["x-roles"] = sorted(target.roles)


def _secure(merged: Document) -> None:
    merged["components"].setdefault("securitySchemes", {})["bearerAuth"] = BEARER_SCHEME
    for path, item in merged["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method in HTTP_METHODS:
            operation = item.get(method)
            # An explicit `security` (e.g. [] on the dev token route) is kept.
            if isinstance(operation, dict) and "security" not in operation:
                operation["security"] = [{"bearerAuth": []}]


def _document_problems(merged: Document, own_paths: set[str]) -> None:
    """Every operation lists the problem responses the gateway (and the service behind it) can give."""

    def statuses_for(method: str, path: str, operation: dict[str, Any]) -> set[int]:
        return problem_statuses(
            method,
            path,
            operation,
            authenticated=operation.get("security") != [],  # the dev token route needs no token
            proxied=path not in own_paths,
            throttled=True,  # every /api/v1 call is charged to the rate limit, the dev token route too
        )

    document_problems(merged, statuses_for=statuses_for)


def merge(own: Document, upstreams: dict[str, Document | None]) -> Document:
    """Pure: the gateway's own document plus each upstream's (None = it was not available)."""
    merged = copy.deepcopy(own)
    merged.setdefault("paths", {})
    merged.setdefault("components", {}).setdefault("schemas", {})
    own_paths = set(merged["paths"])
    operation_ids = {
        op["operationId"]
        for item in merged["paths"].values()
        for method in HTTP_METHODS
        if isinstance(op := item.get(method), dict) and "operationId" in op
    }
    for service, upstream in upstreams.items():
        if upstream is not None:
            _merge_upstream(merged, service, upstream, operation_ids)
    _secure(merged)
    _document_problems(merged, own_paths)
    missing = [service for service, upstream in upstreams.items() if upstream is None]
    if missing:
        note = f"Not included, because the service did not answer: {', '.join(missing)}."
        info = merged.setdefault("info", {})
        info["description"] = (info.get("description", "") + "\n\n" + note).strip()
    return merged


class MergedOpenAPI:
    """Fetches upstream documents on request, caches the merged result for `ttl_s`."""

    def __init__(
        self,
        own: Callable[[], Document],
        upstreams: dict[str, str],
        *,
        fetch_timeout_s: float,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._own = own
        self._upstreams = upstreams
        self._fetch_timeout_s = fetch_timeout_s
        self._ttl_s = ttl_s
        self._clock = clock
        self._cached: Document | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def document(self, client: httpx.AsyncClient) -> Document:
        # One rebuild at a time: concurrent /docs loads share it instead of each fanning out.
        async with self._lock:
            if self._cached is None or self._clock() >= self._expires_at:
                names = list(self._upstreams)
                fetched = await asyncio.gather(*(self._fetch(client, name) for name in names))
                self._cached = merge(self._own(), dict(zip(names, fetched)))
                # A document missing a service (still starting, or down) is rebuilt on the next request.
                complete = all(doc is not None for doc in fetched)
                self._expires_at = self._clock() + (self._ttl_s if complete else 0.0)
            return self._cached

    async def _fetch(self, client: httpx.AsyncClient, service: str) -> Document | None:
        try:
            response = await client.get(f"{self._upstreams[service]}/openapi.json", timeout=self._fetch_timeout_s)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("OpenAPI of %s not available (%s)", service, type(exc).__name__)
            return None
        return document if isinstance(document, dict) else None
