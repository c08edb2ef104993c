"""ASGI middleware: request id and access log, body size limit.

Pure ASGI rather than BaseHTTPMiddleware so that the request id is written
into the scope itself: handlers, problem bodies and the 500 handler all see
the same value.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.identifiers import mask_iin
from common.logging import mask_personal_data, request_id_var
from common.problems import problem_response

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

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": headers + [(b"x-request-id", raw_id)]}
            await send(message)

        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _log_access(scope, status, time.perf_counter() - started)
            request_id_var.reset(token)


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
    """Refuses bodies over the limit (422, as api.md says) before any handler reads them.

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

        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"must be at most {self.max_bytes} bytes"
        response = problem_response(
            Request(scope),
            422,
            "invalid-input",
            f"The request body is larger than {self.max_bytes} bytes.",
            errors=[{"field": "body", "message": message}],
        )
        await response(scope, receive, send)
