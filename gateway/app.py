"""The API gateway: the only public entry (uvicorn factory `gateway.app:create_app`)."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from common.asyncapi import asyncapi_document
from common.devguard import LoopbackOnly
from common.logging import configure_logging
from common.problems import Problem, install_problem_handlers, problem_response
from common.tracing import install_tracing
from gateway.auth import AuthError, Caller, bearer_token, build_auth
from gateway.dev import dev_router
from gateway.metrics import install_metrics
from gateway.middleware import BodyLimitMiddleware, RequestIdMiddleware
from gateway.openapi import MergedOpenAPI
from gateway.proxy import forward
from gateway.ratelimit import TokenBucketLimiter
from gateway.routes import resolve
from gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

PROXY_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

DESCRIPTION = """\
Public API of the burial, disability and survivor benefit case processing.

* Every `/api/v1` call needs `Authorization: Bearer <JWT>` (401 without a valid
  token, 403 when the token's role may not call the route).
* Errors are RFC 9457 problem details (`application/problem+json`).
* Rate limit per token subject (per client address without a token), counted by each
  gateway replica separately; 429 with `Retry-After` when exceeded. The `mobile` system
  account, which speaks for every citizen on a phone, has its own higher limit.
* Every response carries `X-Request-Id` (yours if you sent a sane one).
"""


SYSTEM_ROLES = frozenset({"mobile"})


def _swagger_ui_dir() -> str:
    """The static folder of the swagger-ui-py package, found without importing it (and its template deps)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is missing: run `make venv`")
    return str(Path(next(iter(spec.submodule_search_locations))) / "static")


def create_app(settings: GatewaySettings | None = None, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    verifier, issuer, minter = build_auth(settings)
    limiter = TokenBucketLimiter(settings.rate_limit_per_minute)
    system_limiter = TokenBucketLimiter(settings.system_rate_limit_per_minute)
    address_limiter = TokenBucketLimiter(settings.address_rate_limit_per_minute)
    upstreams = settings.upstreams

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("gateway", settings.log_level)
        # uvicorn's own access line prints the query string unmasked (e.g. ?applicant_iin=...);
        # RequestIdMiddleware writes a masked one instead.
        logging.getLogger("uvicorn.access").disabled = True
        # trust_env=False: calls to the services must never go through a proxy taken from the environment.
        async with httpx.AsyncClient(
            transport=transport, timeout=settings.upstream_timeout_s, trust_env=False, follow_redirects=False
        ) as client:
            app.state.http = client
            log.info("gateway ready (dev_mode=%s)", settings.dev_mode)
            yield

    app = FastAPI(
        title="e-Maket API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url=None,  # served below, merged with the services' documents
        docs_url=None,
        redoc_url=None,
    )
    install_problem_handlers(app)
    install_tracing(app, "gateway")
    app.add_exception_handler(Exception, _internal_error)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)  # added last: outermost, so even a 422 for size carries the id
    if settings.dev_mode:
        app.add_middleware(LoopbackOnly)  # dev tokens are for this machine only
    # Added last, so outermost: requests the middlewares above refuse (too large, not from loopback) count too.
    install_metrics(app)

    def throttle(key: str, *, system: bool = False, address: bool = False) -> None:
        chosen = address_limiter if address else system_limiter if system else limiter
        wait_s = chosen.take(key)
        if wait_s:
            per_minute = (
                settings.address_rate_limit_per_minute if address
                else settings.system_rate_limit_per_minute if system
                else settings.rate_limit_per_minute
            )
            raise Problem(
                429,
                "too-many-requests",
                f"More than {per_minute} requests per minute; slow down.",
                headers={"Retry-After": str(math.ceil(wait_s))},
            )

    async def identify(request: Request) -> tuple[Caller | None, str]:
        """The verified caller (or None and why not), after charging the rate limits."""
        token = bearer_token(request.headers.get("authorization"))
        caller, failure = None, ""
        if token:
            try:
                caller = await verifier.verify(token)
            except AuthError as exc:
                failure = str(exc)
        # Without a verified subject only the client address is left; this also slows token guessing.
        if caller:
            if caller.role not in SYSTEM_ROLES:
                # Every client address has a ceiling, whoever the tokens say they are (the mobile backend
                # is one address speaking for every phone: it has its own system limit instead).
                throttle(f"addr:{_client_address(request)}", address=True)
            throttle(f"sub:{caller.role}:{caller.sub}", system=caller.role in SYSTEM_ROLES)
        else:
            throttle(f"ip:{_client_address(request)}")
        if caller:
            request.state.caller = caller
        return caller, failure

    if issuer is not None:
        app.include_router(dev_router(issuer, lambda request: throttle(f"ip:{_client_address(request)}")))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        """200 only when every service behind the gateway answers its own /readyz with 200 (``make run``
        waits for this before it says the stack is ready). Not the gateway's Kubernetes readiness probe:
        one service down must not take the whole API out of rotation (deploy/README.md)."""
        services = await _upstream_readiness(request.app.state.http, upstreams, settings.ready_timeout_s)
        failing = sorted(name for name, state in services.items() if state["status"] != "ready")
        if failing:
            return problem_response(request, 503, "not-ready", f"not ready: {', '.join(failing)}.", services=services)
        return JSONResponse({"status": "ready", "services": services})

    event_contract: dict = {}

    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi() -> JSONResponse:
        """The event contract (AsyncAPI 3.0), generated from the typed event models (common/asyncapi.py)
        on the first request (about 30 ms) and kept: the models do not change while the process runs."""
        if not event_contract:
            event_contract.update(asyncapi_document(server_host=settings.asyncapi_server_host))
        return JSONResponse(event_contract)

    merged_openapi = MergedOpenAPI(
        lambda: get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes),
        upstreams,
        fetch_timeout_s=settings.openapi_fetch_timeout_s,
        ttl_s=settings.openapi_cache_s,
    )

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(await merged_openapi.document(request.app.state.http))

    # Swagger UI's files are served from the installed swagger-ui-py package, not a CDN:
    # government networks are often closed to the internet.
    app.mount("/docs/assets", StaticFiles(directory=_swagger_ui_dir()), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - docs",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": True},
        )

    @app.api_route("/api/v1/{path:path}", methods=PROXY_METHODS, include_in_schema=False)
    async def proxy(request: Request) -> Response:
        caller, failure = await identify(request)
        path = request.url.path
        target = resolve(request.method, path)
        if target is None:
            raise Problem(404, "not-found", f"There is no {request.method} {path}.")
        if caller is None:
            raise _unauthenticated(failure)
        if caller.role not in target.roles:
            allowed = ", ".join(sorted(target.roles))
            raise Problem(403, "forbidden", f"Role '{caller.role}' may not {request.method} {path}; allowed: {allowed}.")
        body = await request.body()
        credential = minter.mint(role=caller.role, sub=caller.sub, audience=target.service)
        return await forward(request.app.state.http, upstreams[target.service], target, request, body, credential)

    return app


async def _upstream_readiness(client: httpx.AsyncClient, upstreams: dict[str, str], timeout_s: float) -> dict[str, dict]:
    """Each service's /readyz, asked at once: {"status": "ready"} or {"status": "not-ready", "detail": ...}."""

    async def ask(name: str, base_url: str) -> tuple[str, dict]:
        try:
            r = await client.get(f"{base_url}/readyz", timeout=timeout_s)
        except httpx.HTTPError as exc:
            return name, {"status": "not-ready", "detail": f"unreachable ({type(exc).__name__})"}
        if r.status_code == 200:
            return name, {"status": "ready"}
        try:
            detail = str(r.json().get("detail", ""))[:500]
        except ValueError:
            detail = f"HTTP {r.status_code}"
        return name, {"status": "not-ready", "detail": detail or f"HTTP {r.status_code}"}

    return dict(await asyncio.gather(*(ask(name, url) for name, url in upstreams.items())))


def _unauthenticated(failure: str) -> Problem:
    if not failure:
        return Problem(401, "not-authenticated", "A bearer token is required.", headers={"WWW-Authenticate": "Bearer"})
    # RFC 6750 section 3: say that the token itself was the problem.
    challenge = f'Bearer error="invalid_token", error_description="{failure}"'
    return Problem(401, "not-authenticated", failure, headers={"WWW-Authenticate": challenge})


def _client_address(request: Request) -> str:
    # X-Forwarded-For is not trusted: anyone could send it. Behind a load balancer, configure
    # uvicorn's --forwarded-allow-ips so that request.client is the real client.
    return request.client.host if request.client else "unknown"


async def _internal_error(request: Request, exc: Exception) -> Response:
    # Runs in ServerErrorMiddleware, outside RequestIdMiddleware: copy the id onto the response here.
    request_id = request.headers.get("x-request-id", "")
    return problem_response(
        request,
        500,
        "internal-error",
        "Something went wrong on our side; quote the request id when reporting it.",
        headers={"X-Request-Id": request_id},
    )
