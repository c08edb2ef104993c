"""Dev mode answers loopback clients only (issue 6 point 2).

Settings already refuse dev mode with a non-loopback ``BIND_HOST``; this guard covers the case the
settings cannot see — uvicorn started by hand with ``--host 0.0.0.0`` — by refusing, per request,
any client that is not on this machine.
"""

from __future__ import annotations

import json

from common.problems import _TYPE_PREFIX
from common.settings import is_loopback


class LoopbackOnly:
    def __init__(self, app) -> None:  # noqa: ANN001 - any ASGI app
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        client = scope.get("client")
        if scope["type"] in ("http", "websocket") and client and not is_loopback(client[0]):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            body = json.dumps({
                "type": _TYPE_PREFIX + "dev-mode-loopback-only",
                "title": "Dev mode answers this machine only",
                "status": 403,
                "detail": "This process runs in dev mode; it serves loopback clients only.",
            }).encode()
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
