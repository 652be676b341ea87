"""Streamed answers: NDJSON query results (rows as they arrive) and task monitor events (SSE).

`ResultDecoder` reads the node's header / rows / summary / error sequence; it is shared by the sync
`RowStream` and the async `AsyncRowStream`, which only differ in how they read lines. As in
Neo4j's Query API, a stream that ends without `summary` or `error` was cut: iterating it raises
`StreamInterruptedError` after the rows that did arrive.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager, AsyncExitStack, ExitStack
from types import TracebackType
from typing import Any

import httpx
from httpx_sse import ServerSentEvent

from client.exceptions import StreamInterruptedError, TaskFailedError, WaitTimeoutError, error_from_event
from client.models import StreamSummary, Task, decode_rows

Row = list[Any]


class ResultDecoder:
    def __init__(self) -> None:
        self.columns: list[str] | None = None
        self.summary: StreamSummary | None = None
        self.row_count = 0
        self.request_id: str | None = None

    @property
    def complete(self) -> bool:
        return self.summary is not None

    def feed(self, line: str) -> list[Row]:
        """The rows one line carries (most carry none); raises the typed error of an `error` line."""
        if not line.strip():
            return []
        event = json.loads(line)
        kind = event.get("type")
        if kind == "header":
            self.columns = list(event.get("columns", []))
        elif kind == "rows":
            rows: list[Row] = decode_rows(event.get("rows", []))
            self.row_count += len(rows)
            return rows
        elif kind == "summary":
            self.summary = StreamSummary.model_validate(event)
        elif kind == "error":
            raise error_from_event(event, self.request_id)
        return []  # event types added by a newer node are skipped

    def finish(self) -> None:
        if self.summary is None:
            raise StreamInterruptedError(self.row_count)

    def records(self, rows: list[Row]) -> list[dict[str, Any]]:
        return [dict(zip(self.columns or [], row, strict=False)) for row in rows]


class RowStream(ResultDecoder):
    """Rows of a streamed query, yielded as the node sends them.

    `with client.query_stream(...) as rows:` opens the request and reads the header (so `columns`
    is known and errors before the first row are raised there); plain iteration opens it lazily.
    The response is closed when iteration ends, fails, or the `with` block exits.
    """

    def __init__(self, opener: Callable[[], AbstractContextManager[httpx.Response]]) -> None:
        super().__init__()
        self._opener = opener
        self._stack: ExitStack | None = None
        self._lines: Iterator[str] = iter(())
        self._pending: list[Row] = []

    def _start(self) -> None:
        if self._stack is not None:
            return
        self._stack = ExitStack()
        response = self._stack.enter_context(self._opener())
        self.request_id = response.headers.get("x-request-id")
        self._lines = response.iter_lines()
        try:
            while self.columns is None and self.summary is None:
                self._pending.extend(self.feed(next(self._lines)))
        except StopIteration:
            self.close()
            self.finish()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> RowStream:
        self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._stack is not None:
            self._stack.close()

    def __iter__(self) -> Iterator[Row]:
        self._start()
        try:
            yield from self._pending
            self._pending = []
            try:
                for line in self._lines:
                    yield from self.feed(line)
            except httpx.TransportError as exc:
                raise StreamInterruptedError(self.row_count) from exc
            self.finish()
        finally:
            self.close()


class AsyncRowStream(ResultDecoder):
    """The async `RowStream`: `async with client.query_stream(...) as rows: async for row in rows`."""

    def __init__(self, opener: Callable[[], AbstractAsyncContextManager[httpx.Response]]) -> None:
        super().__init__()
        self._opener = opener
        self._stack: AsyncExitStack | None = None
        self._lines: AsyncIterator[str] | None = None
        self._pending: list[Row] = []

    async def _start(self) -> AsyncIterator[str]:
        if self._stack is not None and self._lines is not None:
            return self._lines
        self._stack = AsyncExitStack()
        response = await self._stack.enter_async_context(self._opener())
        self.request_id = response.headers.get("x-request-id")
        lines = self._lines = response.aiter_lines()
        try:
            while self.columns is None and self.summary is None:
                self._pending.extend(self.feed(await anext(lines)))
        except StopAsyncIteration:
            await self.aclose()
            self.finish()
        except BaseException:
            await self.aclose()
            raise
        return lines

    async def __aenter__(self) -> AsyncRowStream:
        await self._start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()

    async def __aiter__(self) -> AsyncIterator[Row]:
        lines = await self._start()
        try:
            for row in self._pending:
                yield row
            self._pending = []
            try:
                async for line in lines:
                    for row in self.feed(line):
                        yield row
            except httpx.TransportError as exc:
                raise StreamInterruptedError(self.row_count) from exc
            self.finish()
        finally:
            await self.aclose()


# --- task monitor (SSE) -----------------------------------------------------------------------------
TASK_EVENTS = ("progress", "completed", "failed")


def task_from_event(event: ServerSentEvent) -> Task | None:
    """The task state an SSE event carries; None for pings and unknown events."""
    if event.event not in TASK_EVENTS or not event.data:
        return None
    return Task.model_validate_json(event.data)


class TaskFollower:
    """Bookkeeping of monitor_task / wait_task, shared by both clients: the wait deadline (as read
    timeouts, so a blocked read ends in time) and reconnection after a cut stream (the node replays
    the task's current state on reconnect, so nothing is missed)."""

    def __init__(self, timeout_s: float | None, max_reconnects: int) -> None:
        self.deadline = None if timeout_s is None else time.monotonic() + timeout_s
        self.timeout_s = timeout_s
        self.max_reconnects = max_reconnects
        self.cuts = 0

    def _expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def read_timeout(self) -> float | None:
        if self.deadline is None:
            return None
        if self._expired():
            raise WaitTimeoutError(f"task did not finish within {self.timeout_s:g}s")
        return self.deadline - time.monotonic()

    def on_event(self, event: ServerSentEvent) -> Task | None:
        task = task_from_event(event)
        if task is not None:
            self.cuts = 0
        return task

    def on_unreachable(self, exc: BaseException) -> None:
        if self._expired():
            raise WaitTimeoutError(f"task did not finish within {self.timeout_s:g}s") from exc
        raise exc

    def on_cut(self, exc: BaseException | None) -> None:
        """After the stream ended without a final event: raise, or return to reconnect."""
        if self._expired():
            raise WaitTimeoutError(f"task did not finish within {self.timeout_s:g}s") from exc
        self.cuts += 1
        if self.cuts > self.max_reconnects:
            raise StreamInterruptedError(0) from exc


def finished(task: Task) -> Task:
    if task.status == "failed":
        raise TaskFailedError(task)
    return task
