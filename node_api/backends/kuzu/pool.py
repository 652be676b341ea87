"""One open Kuzu database: its `kuzu.Database`, a pool of connections, and the write lane.

Guards measured on this machine (kuzu 0.11.3):
- One `Database` per path per process: the backend keeps exactly one OpenDatabase per graph.
- One write transaction per database at a time, and a second fails at once: writes take
  `write_lock` first, so they queue here instead of failing in the engine. Reads run concurrently
  (MVCC) on other pooled connections.
- Connections are checked out exclusively: a connection never serves two requests at once.
- A connection whose transaction failed to begin segfaults on its next query: such connections
  (and any that saw an unexpected error) are discarded, never returned to the pool.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path

import kuzu

from node_api.backends.base import StatementKind
from node_api.backends.errors import DatabaseBusy, Overloaded
from node_api.backends.kuzu.errors import must_discard_connection
from node_api.backends.kuzu.runner import EngineRunner


class OpenDatabase:
    def __init__(
        self,
        graph_id: str,
        database: kuzu.Database,
        runner: EngineRunner,
        *,
        pool_size: int,
        max_waiters: int,
        queue_timeout_s: float,
        retry_after_s: int,
    ) -> None:
        self.graph_id = graph_id
        self.database = database
        self._runner = runner
        self._idle: list[kuzu.Connection] = []
        self._slots = asyncio.Semaphore(pool_size)
        self.write_lock = asyncio.Lock()
        self._max_waiters = max_waiters
        self._queue_timeout_s = queue_timeout_s
        self._retry_after_s = retry_after_s
        self.active = 0
        self.waiting = 0
        self.closing = False
        self.last_used = time.monotonic()
        self.last_write: float | None = None
        self._checked_out: set[kuzu.Connection] = set()

    @classmethod
    async def open(
        cls, graph_id: str, path: Path, runner: EngineRunner, *, buffer_pool_bytes: int, max_db_size_bytes: int,
        threads: int, pool_size: int, max_waiters: int, queue_timeout_s: float, retry_after_s: int,
    ) -> OpenDatabase:
        database = await runner.run(
            lambda: kuzu.Database(
                str(path),
                buffer_pool_size=buffer_pool_bytes,  # a hard cap: Kuzu does not spill past it
                max_num_threads=threads,
                max_db_size=max_db_size_bytes,  # address space reserved per Database (default 8 TiB)
            )
        )
        return cls(graph_id, database, runner, pool_size=pool_size, max_waiters=max_waiters,
                   queue_timeout_s=queue_timeout_s, retry_after_s=retry_after_s)

    @property
    def idle(self) -> bool:
        return self.active == 0 and self.waiting == 0

    @property
    def idle_connections(self) -> int:
        return len(self._idle)

    @asynccontextmanager
    async def connection(self, kind: StatementKind) -> AsyncIterator[kuzu.Connection]:
        if self.closing:
            raise DatabaseBusy(f"database {self.graph_id} is closing; retry", graph_id=self.graph_id)
        if self.waiting >= self._max_waiters:
            raise Overloaded(
                f"too many requests are waiting for database {self.graph_id}",
                retry_after_s=self._retry_after_s, graph_id=self.graph_id,
            )
        self.waiting += 1
        write_locked = slot_taken = False
        try:
            must_wait = self._slots.locked() or (kind is StatementKind.WRITE and self.write_lock.locked())
            # The uncontended case takes no timer: the acquisitions below return at once.
            async with asyncio.timeout(self._queue_timeout_s) if must_wait else nullcontext():
                if kind is StatementKind.WRITE:
                    await self.write_lock.acquire()
                    write_locked = True
                await self._slots.acquire()
                slot_taken = True
        except TimeoutError:
            if write_locked:
                self.write_lock.release()
            raise Overloaded(
                f"database {self.graph_id} is busy: no connection within {self._queue_timeout_s:g}s",
                retry_after_s=self._retry_after_s, graph_id=self.graph_id,
            ) from None
        except BaseException:
            if write_locked:
                self.write_lock.release()
            if slot_taken:
                self._slots.release()
            raise
        finally:
            self.waiting -= 1

        self.active += 1
        keep = True
        conn: kuzu.Connection | None = None
        try:
            # A new connection is made on a worker thread: engine calls never run on the event loop.
            conn = self._idle.pop() if self._idle else await self._runner.run(lambda: kuzu.Connection(self.database))
            self._checked_out.add(conn)
            yield conn
            if kind is StatementKind.WRITE:
                self.last_write = time.time()
        except BaseException as exc:
            keep = not must_discard_connection(exc) and not isinstance(exc, asyncio.CancelledError)
            raise
        finally:
            self.active -= 1
            self.last_used = time.monotonic()
            if conn is not None:
                self._checked_out.discard(conn)
                if keep and not self.closing:
                    self._idle.append(conn)
                else:
                    conn.close()
            self._slots.release()
            if write_locked:
                self.write_lock.release()

    def interrupt_all(self) -> None:
        for conn in list(self._checked_out):
            conn.interrupt()

    async def close(self) -> None:
        """Closes connections and the Database. The caller ensures nothing is checked out."""
        self.closing = True
        idle, self._idle = self._idle, []

        def _close() -> None:
            for conn in idle:
                conn.close()
            self.database.close()

        await self._runner.run(_close)
