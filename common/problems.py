"""RFC 9457 problem details, the one error shape every process answers with.

``install_problem_handlers`` (called by every process: gateway, services, sandbox) makes sure of it:

* ``Problem``, validation errors and HTTP errors become problem details; so does any unexpected
  exception (a 500 with the request id and nothing of the exception's internals).
* ``InputGuard`` refuses hostile input to the ``/api/`` routes before any handler sees it
  (issue 6 point 6): header values that are not printable ASCII or are oversized, NUL or control
  characters in the path or query, bodies over the limit, and JSON bodies Python would take but the
  database and the rules cannot (NaN, infinities, integers beyond I-JSON's exact range, NUL, lone
  surrogates, deep nesting). Each is a 422 naming the field.
* ``/openapi.json`` lists those problem responses for every operation (common/openapi.py).
"""

from __future__ import annotations

import copy
import logging
import uuid
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.logging import request_id_var
from common.strict_json import hostile_json

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_PREFIX = "urn:emaket:problem:"

# api.md "Applications": malformed input, "body too large" included, is a 422. The public contract
# fixes this status; every size refusal (gateway and services) uses this one constant.
BODY_TOO_LARGE_STATUS = 422
DEFAULT_MAX_BODY_BYTES = 64 * 1024
# Below uvicorn's own 16 KiB request-head limit (which answers with a bare 400 of its own).
MAX_HEADER_VALUE_BYTES = 4096
MAX_HEADERS_BYTES = 12 * 1024
# Where BodyLimitMiddleware (gateway) leaves its limit for the guard inside it.
BODY_LIMIT_SCOPE_KEY = "emaket.max_body_bytes"

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def status_title(status: int) -> str:
    return _TITLES.get(status, "Error")


def status_slug(status: int) -> str:
    """The problem type's slug for a plain HTTP error: 'not-found', 'method-not-allowed', ..."""
    return _TITLES.get(status, "error").lower().replace(" ", "-")


class Problem(Exception):
    """An error the caller is told about, as problem details."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.extra = extra


def problem_response(
    request: Request | None,
    status: int,
    slug: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": _TYPE_PREFIX + slug,
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
        request_id = request_id_of(request)
        if request_id:
            body["request_id"] = request_id
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def request_id_of(request: Request) -> str | None:
    """The request id this request is logged under: the X-Request-Id header, else the one being logged."""
    return request.headers.get("x-request-id") or request_id_var.get()


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'applicant', 'iin') -> 'applicant.iin'; list indexes as [0]."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        origin = parts.pop(0)
        if not parts:
            return origin
        if origin != "body":
            parts[0] = f"{origin}.{parts[0]}"
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for err in exc.errors():
        msg = err.get("msg", "invalid value")
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        errors.append({"field": field_path(err.get("loc", ())), "message": msg})
    return errors


def install_problem_handlers(app: FastAPI, *, max_body_bytes: int | None = None) -> None:
    """Every error leaves the process as application/problem+json, and hostile input never reaches a handler.

    ``max_body_bytes``: the body limit of the ``/api/`` routes; by default the gateway's limit (when
    its BodyLimitMiddleware runs in front), else the process's ``max_body_bytes`` setting, else 64 KiB.
    """

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            request, exc.status, exc.slug, exc.detail, errors=exc.errors, headers=exc.headers, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc)
        fields = ", ".join(sorted({e["field"] for e in errors}))
        return problem_response(
            request, 422, "invalid-input", f"The request has invalid fields: {fields}.", errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else status_title(exc.status_code)
        return problem_response(request, exc.status_code, status_slug(exc.status_code), detail, headers=getattr(exc, "headers", None))

    # Runs in ServerErrorMiddleware (outermost), which then re-raises for the server's error log.
    app.add_exception_handler(Exception, internal_error)
    app.add_middleware(InputGuard, max_body_bytes=max_body_bytes)
    _serve_documented_openapi(app)


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """An unexpected exception: a 500 problem with the request id, nothing of the exception itself.

    InputGuard answers (and logs) those raised inside it; this handler, run by Starlette's outermost
    ServerErrorMiddleware, takes those raised outside it (in a middleware around it).
    """
    request_id = request_id_of(request) or ""
    return problem_response(
        request,
        500,
        "internal-error",
        "Something went wrong on our side; quote the request id when reporting it.",
        headers={"X-Request-Id": request_id} if request_id else None,
    )


def _serve_documented_openapi(app: FastAPI) -> None:
    """Replace FastAPI's /openapi.json by one whose operations list their problem responses.

    The document is built by ``app.openapi`` at request time, so a service that replaces
    ``app.openapi`` after this call (intake publishes its hand-parsed body's schema) is covered too.
    """
    url = app.openapi_url
    if not url:
        return  # the gateway serves its own, merged document (gateway/openapi.py documents it)
    from common.openapi import document_problems

    app.router.routes[:] = [route for route in app.router.routes if getattr(route, "path", None) != url]

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(document_problems(copy.deepcopy(request.app.openapi())))

    app.add_route(url, openapi, include_in_schema=False)


# --- hostile input -------------------------------------------------------------------------------


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then whatever comes next (a disconnect)."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _bad_text(text: str) -> bool:
    """NUL and other control characters (tab aside), or a lone surrogate."""
    return any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF for c in text)


def _header_problem(headers: list[tuple[bytes, bytes]]) -> dict[str, str] | None:
    total = 0
    for name, value in headers:
        total += len(name) + len(value) + 4
        field = f"header.{name.decode('latin-1').lower()}"
        if len(value) > MAX_HEADER_VALUE_BYTES:
            return {"field": field, "message": f"must be at most {MAX_HEADER_VALUE_BYTES} bytes"}
        if any(not (0x20 <= byte <= 0x7E or byte == 0x09) for byte in value):
            return {"field": field, "message": "must be printable ASCII"}
    if total > MAX_HEADERS_BYTES:
        return {"field": "header", "message": f"the headers must be at most {MAX_HEADERS_BYTES} bytes together"}
    return None


def _url_problem(scope: Scope) -> dict[str, str] | None:
    if _bad_text(scope.get("path", "")):
        return {"field": "path", "message": "contains a NUL or control character"}
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if _bad_text(name) or _bad_text(value):
            return {"field": f"query.{name}" if not _bad_text(name) else "query", "message": "contains a NUL or control character"}
    return None


def _body_limit(scope: Scope, configured: int | None) -> int:
    if configured:
        return configured
    if BODY_LIMIT_SCOPE_KEY in scope:
        return int(scope[BODY_LIMIT_SCOPE_KEY])
    app = scope.get("app")
    runtime = getattr(getattr(app, "state", None), "runtime", None)
    limit = getattr(getattr(runtime, "settings", None), "max_body_bytes", None)
    return limit if isinstance(limit, int) and limit > 0 else DEFAULT_MAX_BODY_BYTES


class InputGuard:
    """Refuses hostile input to ``/api/`` routes with a 422 naming the field (pure ASGI, before any handler).

    Also makes sure the request carries an X-Request-Id (the one being logged, else a new one), so
    that every problem, the 500 one included, names it.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._guarded(scope, receive, send_tracking)
        except Exception as exc:
            # Answered here rather than re-raised to the server: uvicorn would close the connection
            # after a response, and the gateway's next request on that pooled connection would fail (502).
            if started:
                raise
            log.exception("unexpected %s on %s %s", type(exc).__name__, scope.get("method"), scope.get("path"))
            await self._internal_error(scope, receive, send, exc)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = list(scope.get("headers", []))
        if not any(name == b"x-request-id" for name, _ in headers):
            request_id = request_id_var.get() or str(uuid.uuid4())
            scope["headers"] = headers + [(b"x-request-id", request_id.encode("latin-1", "replace"))]
        if not scope.get("path", "").startswith("/api/"):
            await self.app(scope, receive, send)
            return

        problem = _header_problem(headers) or _url_problem(scope)
        if problem:
            await self._refuse(scope, receive, send, 422, "invalid-input", f"The request has an invalid {problem['field']}.", problem)
            return

        limit = _body_limit(scope, self.max_body_bytes)
        declared = next((value for name, value in headers if name == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, receive, send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left; nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(scope, receive, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)

        # Every /api/ body is JSON, whatever Content-Type says (intake reads its body by hand).
        bad = hostile_json(body) if body else None
        if bad is not None:
            await self._refuse(
                scope, receive, send, 422, "invalid-json", f"The body cannot be taken: {bad.message}.",
                {"field": bad.field, "message": bad.message},
            )
            return

        await self.app(scope, replaying(body, receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        await self._refuse(
            scope, receive, send, BODY_TOO_LARGE_STATUS, "body-too-large",
            f"The request body is larger than {limit} bytes.", {"field": "body", "message": f"must be at most {limit} bytes"},
        )

    @staticmethod
    async def _internal_error(scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        response = await internal_error(Request(scope), exc)
        await response(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, slug: str, detail: str, error: dict[str, str]) -> None:
        request = Request(scope)
        response = problem_response(request, status, slug, detail, errors=[error])
        request_id = request_id_of(request)
        if request_id:
            response.headers["X-Request-Id"] = request_id
        await response(scope, receive, send)
