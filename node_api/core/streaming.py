"""Streamed query results: NDJSON and Server-Sent Events with one event sequence.

    header  {"columns": [...]}
    rows    {"rows": [[...], ...]}          one per chunk (KUZU_CHUNK_SIZE rows), relayed as the
                                            engine's worker encoded it (never decoded here)
    summary {"row_count", "execution_time_ms", "complete": true}
    error   {"error": {"code", "message"}}  if the query fails after the stream began

As in Neo4j's Query API (jsonl), a stream that ends without `summary` or `error` was cut: clients can
tell a complete result from a truncated one.

The engine connection and the admission slot are held in an AsyncExitStack that the response
closes when it finishes, fails, or the client goes away.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from sse_starlette.sse import EventSourceResponse, ServerSentEvent
from starlette.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from node_api.backends.base import ResultStream
from node_api.backends.errors import BackendError
from node_api.core.jsonenc import dumps, dumps_line
from node_api.core.logs import get_logger

log = get_logger(__name__)

NDJSON = "application/x-ndjson"
SSE = "text/event-stream"


@dataclass(frozen=True)
class EncodedRows:
    """A `rows` event's payload as bytes: `data` is one JSON array of `count` rows."""

    data: bytes
    count: int


Event = tuple[str, "dict[str, Any] | EncodedRows"]


async def result_events(
    stream: ResultStream, started: float, extra: dict[str, Any] | None = None
) -> AsyncIterator[Event]:
    yield "header", {"columns": stream.columns, **(extra or {})}
    row_count = 0
    try:
        async for data, count in stream.encoded_chunks():
            row_count += count
            yield "rows", EncodedRows(data, count)
    except BackendError as exc:
        yield "error", {"error": {"code": exc.code, "message": exc.message}, "row_count": row_count}
        return
    yield "summary", {"row_count": row_count,
                      "execution_time_ms": round((time.perf_counter() - started) * 1000, 2), "complete": True}


class _ClosesStack:
    """Mixin: close the exit stack however the response ends (even if the body never started), and end
    a stream whose client stops reading: a send that waits longer than `send_timeout_s` (the client's
    window is full) ends the response, which frees its database connection and its result. Without it
    a client that never read held them as long as it kept its socket open (found by attacking)."""

    exit_stack: AsyncExitStack
    send_timeout_s: float = 30.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def timed_send(message: Message) -> None:
            async with asyncio.timeout(self.send_timeout_s):
                await send(message)

        try:
            await super().__call__(scope, receive, timed_send)  # type: ignore[misc]
        except TimeoutError:
            log.warning("stream ended: its client read nothing for too long", timeout_s=self.send_timeout_s,
                        path=scope.get("path"))
        finally:
            await self.exit_stack.aclose()


class NdjsonResponse(_ClosesStack, StreamingResponse):
    def __init__(self, events: AsyncIterator[Event], exit_stack: AsyncExitStack,
                 headers: dict[str, str] | None = None, *, send_timeout_s: float = 30.0) -> None:
        self.exit_stack = exit_stack
        self.send_timeout_s = send_timeout_s

        async def lines() -> AsyncIterator[bytes]:
            async for kind, payload in events:
                if isinstance(payload, EncodedRows):
                    yield b'{"type":"rows","rows":' + payload.data + b"}\n"
                else:
                    yield dumps_line({"type": kind, **payload})

        super().__init__(lines(), media_type=NDJSON, headers=headers)


class SseResponse(_ClosesStack, EventSourceResponse):
    def __init__(self, events: AsyncIterator[Event], exit_stack: AsyncExitStack,
                 headers: dict[str, str] | None = None, *, send_timeout_s: float = 30.0) -> None:
        self.exit_stack = exit_stack
        self.send_timeout_s = send_timeout_s

        async def messages() -> AsyncIterator[ServerSentEvent]:
            async for kind, payload in events:
                if isinstance(payload, EncodedRows):
                    data = '{"rows":' + payload.data.decode() + "}"
                else:
                    data = dumps(payload).decode()
                yield ServerSentEvent(data=data, event=kind)

        super().__init__(messages(), headers=headers, ping=15)


def negotiate(accept: str | None) -> str:
    """application/json unless the client asks for a streaming type first."""
    for part in (accept or "").split(","):
        media = part.split(";")[0].strip().lower()
        if media in (NDJSON, "application/jsonl", "application/json-seq"):
            return NDJSON
        if media == SSE:
            return SSE
        if media in ("application/json", "*/*", "application/*"):
            return "application/json"
    return "application/json"
