"""Cypher queries: JSON, or streamed as NDJSON / SSE by the Accept header."""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack

from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.responses import Response

from node_api.backends.base import StatementKind
from node_api.backends.errors import ResultTooLarge
from node_api.core.disconnect import ClientDisconnected, unless_disconnected
from node_api.core.jsonenc import dumps
from node_api.core.memory import release_free_memory
from node_api.core.parameters import decode_parameters
from node_api.core.streaming import NDJSON, NdjsonResponse, SseResponse, negotiate, result_events
from node_api.deps import GraphIdDep, NodeDep
from node_api.errors import ApiError
from node_api.models.query import QueryRequest, QueryResponse

router = APIRouter(tags=["query"])
_TRIM_AFTER_BYTES = 8 << 20


@router.post(
    "/databases/{graph_id}/query",
    name="query",
    response_model=QueryResponse,
    responses={200: {"content": {NDJSON: {}, "text/event-stream": {}}}},
)
async def query(graph_id: GraphIdDep, body: QueryRequest, request: Request, node: NodeDep) -> Response:
    settings = node.settings
    timeout_s = body.timeout if body.timeout is not None else settings.query_timeout_s
    if timeout_s > settings.max_query_timeout_s:
        raise ApiError(400, "invalid_timeout",
                       f"timeout {timeout_s:g}s is above the node's maximum of {settings.max_query_timeout_s:g}s")
    kind = node.backend.classify(body.cypher)  # forbidden statements are refused before any work
    if kind is StatementKind.WRITE:
        node.disk.require_headroom()  # 507 below the volume's free-space floor; reads go on (core/disk.py)
    parameters = decode_parameters(body.parameters)
    media = negotiate(request.headers.get("accept"))
    started = time.perf_counter()

    if media == "application/json":
        async def run() -> tuple[list[str], list[bytes], int]:
            # The rows arrive as JSON arrays already encoded by the engine's worker: the answer is
            # assembled from them without decoding a row, bounded by GRAPH_API_MAX_JSON_RESULT_BYTES.
            async with node.admission.admit(), node.backend.stream(
                graph_id, body.cypher, parameters, timeout_s=timeout_s, kind=kind,
                chunk_size=settings.chunk_size,
            ) as stream:
                parts: list[bytes] = []
                size = count = 0
                async for data, rows in stream.encoded_chunks():
                    size += len(data)
                    if size > settings.max_json_result_bytes:
                        raise ResultTooLarge(
                            f"the result is larger than {settings.max_json_result_bytes} bytes "
                            "(GRAPH_API_MAX_JSON_RESULT_BYTES); ask for it as a stream with "
                            "Accept: application/x-ndjson or text/event-stream",
                            max_bytes=settings.max_json_result_bytes)
                    parts.append(data[1:-1])  # the rows inside the chunk's brackets
                    count += rows
                return stream.columns, parts, count

        try:
            columns, parts, count = await unless_disconnected(request, run())
        except ClientDisconnected:
            return Response(status_code=499)  # nobody is listening; the engine was interrupted
        elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
        body_bytes = b"".join((
            b'{"graph_id":', dumps(graph_id), b',"columns":', dumps(columns), b',"rows":[', b",".join(parts),
            b'],"row_count":', str(count).encode(), b',"execution_time_ms":', dumps(elapsed_ms), b"}",
        ))
        del parts
        # glibc keeps a large answer's freed heap in the process: hand it back once it is sent.
        background = BackgroundTask(asyncio.to_thread, release_free_memory) \
            if len(body_bytes) > _TRIM_AFTER_BYTES else None
        return Response(body_bytes, media_type="application/json", background=background)

    # Streaming: errors up to the first row (missing database, syntax, timeout) still get their
    # own HTTP status, because the query runs before the response starts. The admission slot covers
    # running the query; relaying its result holds only the database's connection (until the client
    # has read it, or stops reading for GRAPH_API_STREAM_SEND_TIMEOUT).
    stack = AsyncExitStack()
    try:
        async with node.admission.admit():
            stream = await stack.enter_async_context(
                node.backend.stream(graph_id, body.cypher, parameters, timeout_s=timeout_s, kind=kind,
                                    chunk_size=settings.chunk_size)
            )
    except BaseException:
        await stack.aclose()
        raise
    events = result_events(stream, started, {"graph_id": graph_id})
    response_class = NdjsonResponse if media == NDJSON else SseResponse
    return response_class(events, stack, send_timeout_s=settings.stream_send_timeout_s)
