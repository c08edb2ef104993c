"""ASGI middleware: request id and access log, body size limit.

Pure ASGI rather than BaseHTTPMiddleware so that the request id is written
into the scope itself: handlers, problem bodies and the 500 handler all see
the same value.

Every error leaving the gateway is problem details: an error answer of any other
content type (say, a bare text 400 of an upstream's HTTP server) is rewritten into
one with the same status and the request id.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.identifiers import mask_iin
from common.logging import mask_personal_data, request_id_var
from common.problems import (
    BODY_LIMIT_SCOPE_KEY,
    BODY_TOO_LARGE_STATUS,
    PROBLEM_MEDIA_TYPE,
    problem_response,
    replaying,
    status_slug,
    status_title,
)

access_log = logging.getLogger("gateway.access")

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


class RequestIdMiddleware:
    """Keeps a caller's sane X-Request-Id or makes one; echoes it on every response; logs the call."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _SANE_REQUEST_ID.fullmatch(incoming) else str(uuid.uuid4())
        raw_id = request_id.encode()
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"x-request-id"] + [(b"x-request-id", raw_id)]
        # The handler leaves the verified caller here for the access log line.
        scope.setdefault("state", {})
        status = 500
        # An error answer that is not problem details: its start is held and its body dropped.
        held: Message | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status, held
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": headers + [(b"x-request-id", raw_id)]}
                if _needs_problem(scope, message):
                    held = message
                    return
            elif message["type"] == "http.response.body" and held is not None:
                if not message.get("more_body", False):
                    await _send_problem(scope, held, send)
                return
            await send(message)

        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _log_access(scope, status, time.perf_counter() - started)
            request_id_var.reset(token)


def _needs_problem(scope: Scope, start: Message) -> bool:
    if start["status"] < 400 or scope["method"] == "HEAD":
        return False
    content_type = next((v for k, v in start.get("headers", []) if k.lower() == b"content-type"), b"")
    return not content_type.decode("latin-1").lower().startswith(PROBLEM_MEDIA_TYPE)


async def _send_problem(scope: Scope, start: Message, send: Send) -> None:
    """The held error answer as problem details: same status and headers, a problem body."""
    status = start["status"]
    problem = problem_response(Request(scope), status, status_slug(status), status_title(status))
    headers = MutableHeaders(raw=[(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-type", b"content-length")])
    headers["content-type"] = PROBLEM_MEDIA_TYPE
    headers["content-length"] = str(len(problem.body))
    await send({"type": "http.response.start", "status": status, "headers": headers.raw})
    await send({"type": "http.response.body", "body": problem.body, "more_body": False})


def _log_access(scope: Scope, status: int, elapsed_s: float) -> None:
    caller = scope["state"].get("caller")
    who = f"{caller.role}:{mask_iin(caller.sub)}" if caller else "-"
    # Paths can carry IINs (e.g. lookups by applicant): mask them; the query string is not logged.
    access_log.info(
        "%s %s %d %.1fms caller=%s",
        scope["method"],
        mask_personal_data(scope["path"]),
        status,
        elapsed_s * 1000,
        who,
    )


class BodyLimitMiddleware:
    """Refuses bodies over the limit (422, as api.md says: BODY_TOO_LARGE_STATUS) before any handler reads them.

    The body is buffered here (it is at most `max_bytes`) and replayed to the
    app, so a chunked upload cannot slip past a check on Content-Length alone.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The input guard inside (common/problems.py) takes the same limit.
        scope[BODY_LIMIT_SCOPE_KEY] = self.max_bytes
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left; nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break

        await self.app(scope, replaying(b"".join(chunks), receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"must be at most {self.max_bytes} bytes"
        response = problem_response(
            Request(scope),
            BODY_TOO_LARGE_STATUS,
            "body-too-large",
            f"The request body is larger than {self.max_bytes} bytes.",
            errors=[{"field": "body", "message": message}],
        )
        await response(scope, receive, send)
