"""Pure ASGI middleware (no BaseHTTPMiddleware: it buffers and costs on the hot path).

- RequestContext: a request id (X-Request-ID in and out) and one JSON access-log line per request.
- BodyLimit: refuses bodies over the limit with 413, from Content-Length or while streaming.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node_api.errors import send_error

_GRAPH_IN_PATH = re.compile(r"^/databases/([^/]+)")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
log = structlog.get_logger("node_api.access")


class RequestContext:
    def __init__(self, app: ASGIApp, on_complete: Any = None) -> None:
        self.app = app
        self.on_complete = on_complete

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        supplied = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            # Every log line of the request (engine errors included) carries its id.
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                await self.app(scope, receive, send_with_id)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            path = scope.get("path", "")
            match = _GRAPH_IN_PATH.match(path)
            route = scope.get("route")
            # Unmatched paths share one name: a client must not mint metric series (found in review).
            operation = getattr(route, "name", None) or "unmatched"
            status = status_holder["status"]
            log.info(
                "request",
                request_id=request_id,
                method=scope.get("method"),
                path=path,
                graph_id=match.group(1) if match else None,
                operation=operation,
                duration_ms=duration_ms,
                http_status=status,
                status="success" if status < 400 else "error",
            )
            if self.on_complete is not None:
                self.on_complete(operation, status, duration_ms)


class BodyLimit:
    """A declared Content-Length over the limit is refused before reading. A body without one
    (chunked) is read up to the limit and replayed to the app, or refused once it passes it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.max_bytes:
                await self._too_large(scope, send)
                return
            await self.app(scope, receive, send)
            return
        if scope.get("method") in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._too_large(scope, send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        await send_error(scope, send, 413, "payload_too_large",
                         f"the request body is larger than {self.max_bytes} bytes", {"max_bytes": self.max_bytes})
