"""Tenant SQL over one graph's staging tables: the policy check, the cursor, the deadline, the rows.

A `TenantQuery` checks the SQL against policy.py, checks out a cursor of the graph's pool for
itself alone, runs the statement inside `BEGIN TRANSACTION READ ONLY` (always rolled back), and
interrupts DuckDB at the deadline (`cursor.interrupt()`); the deadline covers fetching too.
Every DuckDB error on the way is answered by `translate_error`, the one translation of tenant-SQL
errors: the API's words in the response, DuckDB's text in the log (with the request id).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import duckdb
import orjson

from node_api.backends.base import ResultStream
from node_api.backends.errors import ResultTooLarge
from node_api.core.jsonenc import dumps
from node_api.core.logs import get_logger
from node_api.core.staging import policy
from node_api.core.staging.errors import (
    StagingError,
    StagingInternalError,
    StagingMemoryExceeded,
    StagingQueryFailed,
    StagingQueryRejected,
    StagingQueryTimeout,
    duckdb_reason,
)
from node_api.core.staging.pool import CursorPool

log = get_logger(__name__)
T = TypeVar("T")

# Rows live in the node's process once fetched: answers are fetched this many rows at a time and
# their size checked after each fetch, so what is held past a byte limit is at most one fetch (found by
# attacking: a JSON answer of 1,000 rows of 1 MB grew the node by 3 GB, past KUZU_MAX_MEMORY_MB; a
# stream held its 1,000-row chunks whole).
_FETCH_ROWS = 100
_CHUNK_BYTES = 8 << 20  # a streamed chunk ends at this size or at chunk_size rows

# Errors about the tenant's own SQL or data: their first line says what to fix and names only what
# the SQL named. Everything else (internal, fatal, I/O...) is answered without DuckDB's text.
_CAUSED_BY_THE_SQL: dict[type[duckdb.Error], str] = {
    duckdb.ParserException: "the SQL does not parse",
    duckdb.BinderException: "the SQL does not bind",
    duckdb.CatalogException: "the SQL names something that does not exist",
    duckdb.ConversionException: "a value does not convert",
    duckdb.OutOfRangeException: "a value is out of range",
    duckdb.InvalidInputException: "invalid input",
    duckdb.NotImplementedException: "DuckDB does not support this",
    duckdb.TypeMismatchException: "types do not match",
}


def translate_error(exc: duckdb.Error, timeout_s: float) -> StagingError:
    """The one translation of DuckDB errors raised by tenant SQL."""
    if isinstance(exc, duckdb.InterruptException):
        return StagingQueryTimeout(f"staging query exceeded {timeout_s:g}s")
    text = str(exc)
    log.info("staging query failed", error_class=type(exc).__name__, duckdb_error=text[:2000])
    if isinstance(exc, (duckdb.PermissionException, duckdb.TransactionException)) or (
        isinstance(exc, duckdb.InvalidInputException) and "configuration" in text
    ):
        return StagingQueryRejected("the staging database refused the statement (it is read-only and locked)")
    if isinstance(exc, duckdb.OutOfMemoryException):
        return StagingMemoryExceeded("the query needs more memory than a staging database may use "
                                     "(GRAPH_API_STAGING_MEMORY_LIMIT)", setting="GRAPH_API_STAGING_MEMORY_LIMIT")
    for cls, what in _CAUSED_BY_THE_SQL.items():
        if isinstance(exc, cls):
            return StagingQueryFailed(f"{what}: {duckdb_reason(exc)}")
    return StagingInternalError("the staging query failed unexpectedly; see the node's log")


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool


class TenantQuery:
    """One tenant statement on its own cursor. Blocking methods: run them on a worker thread;
    `close` always (it rolls back and hands the cursor back)."""

    def __init__(self, pool: CursorPool, sql: str, *, timeout_s: float, max_sql_length: int) -> None:
        self._pool = pool
        self._sql = sql
        self._timeout_s = timeout_s
        self._max_sql_length = max_sql_length
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._timer: threading.Timer | None = None
        self._healthy = True
        self._stopped_for_memory = False
        self.columns: list[str] = []

    def stop_for_memory(self) -> None:
        """From any thread: interrupt the statement because the node's memory ran out (DuckDB checks its
        interrupt flag often, unlike the graph engines)."""
        cursor = self._cursor
        if cursor is not None:
            self._stopped_for_memory = True
            cursor.interrupt()

    def _error(self, exc: duckdb.Error) -> StagingError:
        if self._stopped_for_memory and isinstance(exc, duckdb.InterruptException):
            return StagingMemoryExceeded(
                "the node's memory passed its limit (KUZU_MAX_MEMORY_MB) while this staging query ran in it; "
                "the query was stopped", setting="KUZU_MAX_MEMORY_MB")
        return translate_error(exc, self._timeout_s)

    def open(self) -> None:
        """Checks the SQL against the policy, then runs it. Raises StagingError."""
        cursor = self._cursor = self._pool.acquire()
        try:
            tables = [
                r[0]
                for r in cursor.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'"
                ).fetchall()
            ]
            policy.check(self._sql, tables, max_length=self._max_sql_length)
            self._timer = threading.Timer(self._timeout_s, cursor.interrupt)
            self._timer.daemon = True
            cursor.execute("BEGIN TRANSACTION READ ONLY")
            self._timer.start()
            cursor.execute(self._sql)
        except duckdb.Error as exc:
            self._healthy = False
            self.close()
            raise self._error(exc) from None
        except BaseException:
            self.close()
            raise
        self.columns = [d[0] for d in cursor.description or []]

    def fetch(self, size: int) -> list[list[Any]]:
        assert self._cursor is not None, "open() first"
        try:
            return [list(row) for row in self._cursor.fetchmany(size)]
        except duckdb.Error as exc:
            self._healthy = False
            raise self._error(exc) from None

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        cursor, self._cursor = self._cursor, None
        if cursor is None:
            return
        try:
            cursor.execute("ROLLBACK")  # also after an interrupt: the cursor goes back clean
        except duckdb.Error:
            pass
        self._pool.release(cursor, healthy=self._healthy)

    def result(self, max_rows: int, max_bytes: int) -> QueryResult:
        """open + fetch up to max_rows (truncated tells if there were more) + close. Raises
        ResultTooLarge (400 result_too_large) once the rows' JSON passes `max_bytes`
        (GRAPH_API_MAX_JSON_RESULT_BYTES, as for Cypher): the rows live in the node's process."""
        self.open()
        rows: list[list[Any]] = []
        size = 0
        try:
            while len(rows) <= max_rows:
                batch = self.fetch(min(_FETCH_ROWS, max_rows + 1 - len(rows)))
                if not batch:
                    break
                size += len(dumps(batch))
                if size > max_bytes:
                    raise ResultTooLarge(
                        f"the result is larger than {max_bytes} bytes (GRAPH_API_MAX_JSON_RESULT_BYTES); ask "
                        "for it as a stream with Accept: application/x-ndjson or text/event-stream",
                        max_bytes=max_bytes)
                rows.extend(batch)
        finally:
            self.close()
        return QueryResult(self.columns, rows[:max_rows], len(rows) > max_rows)


class Blocking(Protocol):
    def __call__(self, fn: Callable[[], T], /) -> Awaitable[T]: ...


class TenantResultStream(ResultStream):
    """The rows of an open TenantQuery, a chunk at a time (for NDJSON / SSE)."""

    def __init__(self, query: TenantQuery, chunk_size: int, blocking: Blocking) -> None:
        """`blocking(fn)` runs a blocking call on the staging service's threads."""
        self._query = query
        self._chunk_size = chunk_size
        self._blocking = blocking
        self.columns = query.columns

    def _encoded_chunk(self) -> tuple[bytes, int]:
        parts: list[bytes] = []
        count = size = 0
        while count < self._chunk_size and size < _CHUNK_BYTES:
            rows = self._query.fetch(min(_FETCH_ROWS, self._chunk_size - count))
            if not rows:
                break
            data = dumps(rows)
            parts.append(data[1:-1])  # the rows inside the array's brackets
            count += len(rows)
            size += len(data)
        return b"[" + b",".join(parts) + b"]", count

    async def encoded_chunks(self) -> AsyncIterator[tuple[bytes, int]]:
        """Chunks of at most chunk_size rows and about _CHUNK_BYTES, encoded as they are fetched."""
        while True:
            data, count = await self._blocking(self._encoded_chunk)
            if not count:
                return
            yield data, count

    async def chunks(self) -> AsyncIterator[list[list[Any]]]:
        async for data, _count in self.encoded_chunks():
            yield orjson.loads(data)
