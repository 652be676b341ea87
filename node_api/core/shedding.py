"""Load shedding at the edge: when admission control is saturated (or memory is past its
high-water mark), a query is refused before routing, body parsing, validation and auth run.

Under overload most requests are refused; the cheaper each refusal, the more of the node's one event
loop is left for the admitted ones. The answer is the same 503 + Retry-After that admission control
gives inside the handler (which still enforces the bound: this only saves work).
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from node_api.core.jsonenc import dumps

_SHED_PATHS = re.compile(r"^/databases/[^/]+/(query|tables/query)$")


class LoadShedding:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and _SHED_PATHS.match(scope["path"]):
            node = getattr(scope["app"].state, "node", None)
            if node is not None:
                admission = node.admission
                reason = admission.memory_pressure or (
                    f"node is at capacity: {admission.in_flight} running, {admission.queued} queued"
                    if admission.saturated else None)
                if reason:
                    admission.rejected += 1
                    await self._refuse(scope, send, reason, admission.retry_after_s)
                    return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, reason: str, retry_after_s: int) -> None:
        body = dumps({"error": {"code": "overloaded", "message": reason, "details": {}},
                      "request_id": scope.get("state", {}).get("request_id")})
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(retry_after_s).encode())]})
        await send({"type": "http.response.body", "body": body})
