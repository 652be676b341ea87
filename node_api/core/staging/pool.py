"""Exclusive checkout of DuckDB cursors.

A DuckDB connection (cursor) runs one statement at a time and carries its transaction; handing one
to two requests at once mixes their results. Each checkout owns its cursor until it gives it back.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from node_api.backends.errors import Overloaded


class CursorPool:
    def __init__(self, database: duckdb.DuckDBPyConnection, size: int, *, wait_s: float = 5.0) -> None:
        self._database = database
        self._wait_s = wait_s
        self._free: queue.LifoQueue[duckdb.DuckDBPyConnection] = queue.LifoQueue()
        for _ in range(size):
            self._free.put(database.cursor())
        self.size = size

    @contextmanager
    def checkout(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cursor = self.acquire()
        healthy = True
        try:
            yield cursor
        except BaseException:
            healthy = False
            raise
        finally:
            self.release(cursor, healthy=healthy)

    def acquire(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the caller alone, until `release`. Overloaded (503) after `wait_s`."""
        try:
            return self._free.get(timeout=self._wait_s)
        except queue.Empty:
            raise Overloaded("all staging connections of this graph are busy", retry_after_s=1) from None

    def release(self, cursor: duckdb.DuckDBPyConnection, *, healthy: bool) -> None:
        if not healthy:
            # A failed or interrupted statement may leave a transaction open: start clean.
            try:
                cursor.close()
            finally:
                cursor = self._database.cursor()
        self._free.put(cursor)

    def in_use(self) -> int:
        return self.size - self._free.qsize()

    def close(self) -> None:
        while True:
            try:
                self._free.get_nowait().close()
            except queue.Empty:
                return
