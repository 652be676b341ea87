"""Load shedding at the edge: when admission control is saturated (or memory is past its
high-water mark), a query is refused before routing, body parsing, validation and auth run.

Under overload most requests are refused; the cheaper each refusal, the more of the node's one event
loop is left for the admitted ones. The answer is the same 503 + Retry-After that admission control
gives inside the handler (which still enforces the bound: this only saves work).
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from node_api.errors import send_error

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
                    await send_error(scope, send, 503, "overloaded", reason,
                                     headers={"Retry-After": str(admission.retry_after_s)})
                    return
        await self.app(scope, receive, send)
