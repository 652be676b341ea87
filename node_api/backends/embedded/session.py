"""The public handle to one engine connection of one database, for the backend and its collaborators
(backup, rebuild, staging ingest): typed operations, the API's errors, never a raw channel.

Every call may raise a BackendError: engine failures are translated (errors.translate), and a worker
that died under the call becomes the error the request deserves (errors.worker_gone_error).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from node_api.backends.base import GraphSchema, PropertyInfo, ResultStream, TableInfo
from node_api.backends.embedded.errors import translate
from node_api.backends.embedded.process import Channel, EngineFailure, WorkerGone
from node_api.backends.errors import BackendError

GoneHandler = Callable[[WorkerGone], BackendError]


@dataclass
class EngineSession:
    channel: Channel
    on_gone: GoneHandler
    grace_s: float
    engine: str  # the engine's name, for the log of its errors

    @contextmanager
    def _errors(self, *, timeout_s: float | None = None, started: float | None = None) -> Iterator[None]:
        try:
            yield
        except EngineFailure as failure:
            timed_out = timeout_s is not None and started is not None and \
                asyncio.get_running_loop().time() - started >= timeout_s * 0.99
            raise translate(failure, engine=self.engine, timed_out=timed_out) from None
        except WorkerGone as gone:
            raise self.on_gone(gone) from None

    def _deadline(self, timeout_s: float | None) -> float | None:
        if timeout_s is None:
            return None
        return asyncio.get_running_loop().time() + timeout_s + self.grace_s

    async def call(self, header: dict[str, Any], blobs: tuple[bytes | memoryview, ...] = (), *, timeout_s: float | None,
                   statement: str | None = None) -> tuple[dict[str, Any], list[bytes]]:
        """One request to the engine connection; BackendError on any failure."""
        started = asyncio.get_running_loop().time()
        with self._errors(timeout_s=timeout_s, started=started):
            return await self.channel.call(header, blobs, deadline=self._deadline(timeout_s), statement=statement)

    async def query(self, statement: str, parameters: Mapping[str, Any] | None, *, timeout_s: float,
                    chunk_rows: int, writes: bool = True) -> EngineResultStream:
        """Runs a statement (parameters in the engine's forms: parameters.embedded_parameters); the
        engine stops it at `timeout_s`, the node kills its worker if it has not stopped by `timeout_s` +
        grace. The first chunk comes with the answer. `writes=False` lets the worker keep what it read
        of the catalog."""
        reply, blobs = await self.call(
            {"op": "query", "statement": statement, "parameters": dict(parameters or {}), "writes": writes,
             "timeout_ms": max(1, int(timeout_s * 1000)), "max_rows": chunk_rows},
            timeout_s=timeout_s, statement=statement)
        return EngineResultStream(self, reply, blobs[0], chunk_rows, timeout_s, statement)

    async def scalar(self, statement: str, *, timeout_s: float) -> Any:
        stream = await self.query(statement, None, timeout_s=timeout_s, chunk_rows=1)
        try:
            async for chunk in stream.chunks():
                return chunk[0][0] if chunk and chunk[0] else None
            return None
        finally:
            await stream.aclose()

    async def plan(self, explain_statement: str, parameters: Mapping[str, Any] | None, *, timeout_s: float) -> str:
        """The engine's plan text: the single cell of `EXPLAIN ...` run with the request's parameters
        (the engine binds their types). An error is the statement's own; nothing of it ran."""
        _reply, blobs = await self.call({"op": "plan", "statement": explain_statement,
                                         "parameters": dict(parameters or {})},
                                        timeout_s=timeout_s, statement=explain_statement)
        return blobs[0].decode()

    async def script(self, statements: list[str], *, transaction: bool, timeout_s: float | None) -> None:
        await self.call({"op": "script", "statements": statements, "transaction": transaction},
                        timeout_s=timeout_s, statement="\n".join(statements))

    async def schema(self, *, timeout_s: float | None = None) -> GraphSchema:
        reply, _ = await self.call({"op": "schema"}, timeout_s=timeout_s)
        return schema_from_wire(reply["schema"])

    async def describe(self, *, timeout_s: float | None = None) -> tuple[GraphSchema, dict[str, Any], dict[str, dict[str, int]]]:
        """(schema, the schema as the engine reported it, row counts per table)."""
        reply, _ = await self.call({"op": "describe"}, timeout_s=timeout_s)
        return schema_from_wire(reply["schema"]), reply["schema"], reply["row_counts"]

    async def export_portable(self, directory: Path, scratch: Path, *, timeout_s: float | None) -> dict[str, Any]:
        """Writes the database in the portable format (portable.py) into `directory`, which must lie in
        the worker's own directory: {ddl, files, row_counts, warnings}. Unsupported (400) when the graph
        holds what the format cannot carry."""
        reply, _ = await self.call({"op": "export_portable", "directory": str(directory), "scratch": str(scratch)},
                                   timeout_s=timeout_s, statement="EXPORT (portable)")
        return dict(reply["export"])

    async def ddl(self, scratch: Path, *, timeout_s: float | None) -> list[str]:
        """The database's schema as DDL (portable.schema_only); `scratch` lies in the worker's directory."""
        reply, _ = await self.call({"op": "ddl", "scratch": str(scratch)}, timeout_s=timeout_s)
        return [str(s) for s in reply["ddl"]]

    async def copy(self, table_name: str, arrow_ipc: bytes | memoryview, *, ignore_errors: bool,
                   timeout_s: float | None) -> tuple[int, list[str]]:
        """COPY an Arrow IPC stream into a table: (rows loaded, warnings for skipped rows)."""
        reply, _ = await self.call({"op": "copy", "table": table_name, "ignore_errors": ignore_errors},
                                   (arrow_ipc,), timeout_s=timeout_s, statement=f"COPY {table_name}")
        return int(reply["loaded"]), [str(w) for w in reply["warnings"]]


def schema_from_wire(data: dict[str, Any]) -> GraphSchema:
    def table(entry: dict[str, Any]) -> TableInfo:
        return TableInfo(
            name=entry["name"], kind=entry["kind"],
            properties=[PropertyInfo(p["name"], p["type"], p["primary_key"]) for p in entry["properties"]],
            from_tables=entry.get("from_tables", []), to_tables=entry.get("to_tables", []),
            comment=entry.get("comment"),
        )

    return GraphSchema([table(t) for t in data["node_tables"]], [table(t) for t in data["rel_tables"]],
                       list(data["indexes"]))


class EngineResultStream(ResultStream):
    """Rows a worker already encoded as JSON, a chunk at a time. While one chunk is relayed the next
    is being read and encoded in the worker (one fetch in flight), so the worker never runs ahead
    by more than a chunk: the stream's footprint is bounded on both sides."""

    def __init__(self, session: EngineSession, reply: dict[str, Any], first: bytes, chunk_rows: int,
                 timeout_s: float, statement: str) -> None:
        self._session = session
        self.columns = list(reply["columns"])
        self.column_types = list(reply["types"])
        self._first: tuple[bytes, int] | None = (first, int(reply["rows"]))
        self._done = bool(reply["done"])
        self._chunk_rows = chunk_rows
        self._timeout_s = timeout_s
        self._statement = statement
        self._prefetch: asyncio.Future[tuple[dict[str, Any], list[bytes]]] | None = None

    def _fetch(self) -> asyncio.Future[tuple[dict[str, Any], list[bytes]]]:
        return asyncio.ensure_future(self._session.call({"op": "fetch", "max_rows": self._chunk_rows},
                                                        timeout_s=self._timeout_s, statement=self._statement))

    async def encoded_chunks(self) -> AsyncIterator[tuple[bytes, int]]:
        if self._first is None:
            return
        data, count = self._first
        self._first = None
        while True:
            if not self._done:
                self._prefetch = self._fetch()
            if count:
                yield data, count
            if self._done:
                return
            assert self._prefetch is not None
            prefetch, self._prefetch = self._prefetch, None
            reply, blobs = await prefetch
            data, count, self._done = blobs[0], int(reply["rows"]), bool(reply["done"])

    async def chunks(self) -> AsyncIterator[list[list[Any]]]:
        async for data, _count in self.encoded_chunks():
            yield orjson.loads(data)

    async def aclose(self) -> None:
        """Ends the result in the worker (a consumer may stop early); the channel stays usable."""
        prefetch, self._prefetch = self._prefetch, None
        if prefetch is not None:
            try:
                reply, _ = await prefetch
                self._done = bool(reply["done"])
            except BackendError:
                return
        if not self._done and not self._session.channel.broken:
            self._done = True
            try:
                await self._session.call({"op": "close"}, timeout_s=self._timeout_s)
            except BackendError:
                pass
