"""Forward one admitted request to its upstream and relay the answer."""

from __future__ import annotations

import logging

import httpx
from fastapi import Request, Response

from common.problems import Problem
from common.tracing import inject_headers
from gateway.routes import Target

log = logging.getLogger(__name__)

# Whitelists: the client's Authorization stays here and is replaced by the gateway's internal
# credential for this request and this service (common/internal_auth.py); any X-Caller-* or other
# header a client sent is dropped because it is simply not on the list.
REQUEST_HEADERS = ("content-type", "idempotency-key", "accept")
RESPONSE_HEADERS = ("content-type", "location", "retry-after")


def upstream_headers(request: Request, credential: str) -> dict[str, str]:
    headers = {name: value for name in REQUEST_HEADERS if (value := request.headers.get(name)) is not None}
    # RequestIdMiddleware has already replaced the header with a sane value.
    headers["x-request-id"] = request.headers["x-request-id"]
    headers["authorization"] = f"Bearer {credential}"
    # The gateway's SERVER span is the parent of the service's (common/tracing.py); a client's own
    # traceparent is not forwarded as such, the gateway's span continues it.
    return inject_headers(headers)


def _public_location(location: str, base_url: str) -> str:
    """An absolute Location pointing at the upstream would leak an internal address."""
    if not location.startswith(base_url):
        return location
    return location[len(base_url) :] or "/"


async def forward(
    client: httpx.AsyncClient,
    base_url: str,
    target: Target,
    request: Request,
    body: bytes,
    credential: str,
) -> Response:
    url = httpx.URL(base_url).copy_with(path=target.upstream_path, query=request.scope.get("query_string") or None)
    try:
        upstream = await client.request(
            request.method, url, content=body, headers=upstream_headers(request, credential)
        )
    except httpx.ConnectTimeout as exc:
        # Could not even connect: the service is unreachable, not slow.
        raise _unavailable(target.service, exc) from exc
    except httpx.TimeoutException as exc:
        log.warning("upstream %s timed out (%s)", target.service, type(exc).__name__)
        raise Problem(
            504,
            "gateway-timeout",
            f"The {target.service} service did not answer in time. It may still have acted: "
            "retry with the same Idempotency-Key.",
        ) from exc
    except httpx.ConnectError as exc:
        raise _unavailable(target.service, exc) from exc
    except httpx.TransportError as exc:
        log.warning("upstream %s failed (%s)", target.service, type(exc).__name__)
        raise Problem(502, "bad-gateway", f"The {target.service} service gave no usable answer.") from exc

    headers = {name: upstream.headers[name] for name in RESPONSE_HEADERS if name in upstream.headers}
    if "location" in headers:
        headers["location"] = _public_location(headers["location"], base_url)
    return Response(content=upstream.content, status_code=upstream.status_code, headers=headers)


def _unavailable(service: str, exc: Exception) -> Problem:
    log.warning("upstream %s unreachable (%s)", service, type(exc).__name__)
    return Problem(503, "service-unavailable", f"The {service} service is unreachable; try again later.")
