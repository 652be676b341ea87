"""One open database: its worker process, a pool of channels (engine connections), the write lane.

Guards measured on this machine (kuzu 0.11.3; LadybugDB 0.22.0 the same unless docs say otherwise):
- One `Database` per path per process, and one process per database: the backend keeps exactly one
  OpenDatabase (one worker) per graph.
- One write transaction per database at a time, and a second fails at once: writes take
  `write_lock` first, so they queue here instead of failing in the engine. Reads run concurrently
  (MVCC) on other channels. (LadybugDB's `enable_multi_writes` is left off: docs/engine-facts.md.)
- Channels are checked out exclusively: an engine connection never serves two requests at once.
- A connection whose transaction failed to begin segfaults on its next query (Kuzu 0.11.3): the
  worker closes such connections (and any that saw an unexpected error) and the channel is dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext

from node_api.backends.base import StatementKind
from node_api.backends.embedded.process import Channel, WorkerProcess
from node_api.backends.errors import DatabaseBusy, Overloaded

_VERDICTS_KEPT = 4096


class OpenDatabase:
    def __init__(self, graph_id: str, worker: WorkerProcess, *, pool_size: int, max_waiters: int,
                 queue_timeout_s: float, retry_after_s: int) -> None:
        self.graph_id = graph_id
        self.worker = worker
        self._idle: list[Channel] = []
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
        self._checked_out: set[Channel] = set()
        # The statement policy's plan verdicts for this worker, by statement text (LRU).
        self.verdicts: OrderedDict[str, StatementKind] = OrderedDict()

    def verdict(self, statement: str) -> StatementKind | None:
        kind = self.verdicts.get(statement)
        if kind is not None:
            self.verdicts.move_to_end(statement)
        return kind

    def remember(self, statement: str, kind: StatementKind) -> None:
        self.verdicts[statement] = kind
        self.verdicts.move_to_end(statement)
        while len(self.verdicts) > _VERDICTS_KEPT:
            self.verdicts.popitem(last=False)

    @property
    def idle(self) -> bool:
        return self.active == 0 and self.waiting == 0

    @property
    def idle_connections(self) -> int:
        return len(self._idle)

    @property
    def usable(self) -> bool:
        return not self.closing and self.worker.alive

    @asynccontextmanager
    async def connection(self, kind: StatementKind) -> AsyncIterator[Channel]:
        if not self.usable:
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
        channel: Channel | None = None
        try:
            channel = self._idle.pop() if self._idle else await self.worker.channel()
            self._checked_out.add(channel)
            yield channel
            if kind is StatementKind.WRITE:
                self.last_write = time.time()
        finally:
            self.active -= 1
            self.last_used = time.monotonic()
            if channel is not None:
                self._checked_out.discard(channel)
                if channel.broken or not self.usable:
                    channel.close()
                else:
                    self._idle.append(channel)
            self._slots.release()
            if write_locked:
                self.write_lock.release()

    def interrupt_all(self) -> None:
        for channel in list(self._checked_out):
            self.worker.interrupt(channel.id)

    async def close(self) -> None:
        """Closes the channels and stops the worker (it checkpoints and closes the database).
        The caller ensures nothing is checked out, or accepts that the worker is killed under it."""
        self.closing = True
        idle, self._idle = self._idle, []
        for channel in idle:
            channel.close()
        await self.worker.stop()
