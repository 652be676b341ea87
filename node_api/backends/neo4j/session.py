"""Deadlines on Bolt work, and streamed results: what the backend and its collaborators (bulk.py,
backup.py) use around a driver session (Neo4jBackend.session).

Engine fact (ArcadeDB 26.10.2, measured: docs/neo4j-backend.md): the Bolt transaction timeout is
ignored (a 0.5 s tx_timeout ran 23 s), so every deadline is also kept here, on the client; when it
passes the awaited work is cancelled and the driver closes that connection rather than reusing it.
Neo4j stops the work itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import neo4j

from node_api.backends.base import ResultStream
from node_api.backends.errors import QueryTimeout
from node_api.backends.neo4j.errors import translated
from node_api.backends.neo4j.values import neo4j_row

T = TypeVar("T")


async def timed(awaitable: Awaitable[T], timeout_s: float) -> T:
    """The awaitable's result; QueryTimeout once `timeout_s` seconds have passed (the work is cancelled)."""
    try:
        async with asyncio.timeout(timeout_s):
            return await awaitable
    except TimeoutError:
        raise QueryTimeout(f"the query ran past its timeout of {timeout_s:g} s", timeout_s=timeout_s) from None


class Budget:
    """Time the server spends on one streamed query; a slow consumer does not use it up."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.left = timeout_s

    async def run(self, awaitable: Awaitable[T]) -> T:
        """The awaitable's result, charged to the budget; QueryTimeout when the budget runs out."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(max(self.left, 0.001)):
                return await awaitable
        except TimeoutError:
            raise QueryTimeout(f"the query ran past its timeout of {self.timeout_s:g} s",
                               timeout_s=self.timeout_s) from None
        finally:
            self.left -= time.monotonic() - started


class BoltResultStream(ResultStream):
    """Rows of one open driver result in chunks of `chunk_size`, in the wire form (values.py)."""

    def __init__(self, columns: list[str], result: neo4j.AsyncResult, chunk_size: int, budget: Budget) -> None:
        self.columns = columns
        self._result = result
        self._chunk_size = chunk_size
        self._budget = budget

    async def chunks(self) -> AsyncIterator[list[list[Any]]]:
        # fetch_size = chunk_size: the driver PULLs one chunk at a time; nothing else is buffered.
        iterator = self._result.__aiter__()
        size = self._chunk_size

        async def fill() -> tuple[list[list[Any]], bool]:
            chunk: list[list[Any]] = []
            try:
                while len(chunk) < size:
                    chunk.append(neo4j_row((await iterator.__anext__()).values()))
            except StopAsyncIteration:
                return chunk, True
            return chunk, False

        while True:
            with translated():
                chunk, done = await self._budget.run(fill())
            if chunk:
                yield chunk
            if done:
                return
