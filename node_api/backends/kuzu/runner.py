"""Runs blocking Kuzu calls on a bounded thread pool, off the event loop.

When the awaiting task is cancelled (client gone, deadline passed) the engine is interrupted and
the call is awaited to its end before the connection may be reused: a Kuzu connection must never
run two things at once. The interrupt is repeated while the query is still compiling, when a
single interrupt can be missed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import kuzu

T = TypeVar("T")

_INTERRUPT_REPEAT_S = 0.05


class EngineRunner:
    def __init__(self, max_workers: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="kuzu")

    async def run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def run_interruptible(self, conn: kuzu.Connection, fn: Callable[[], T]) -> T:
        future = asyncio.get_running_loop().run_in_executor(self._executor, fn)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            while not future.done():
                conn.interrupt()
                try:
                    await asyncio.wait_for(asyncio.shield(future), _INTERRUPT_REPEAT_S)
                except (TimeoutError, asyncio.CancelledError):
                    continue
                except Exception:  # noqa: BLE001 - the interrupted query's own error is expected
                    break
            raise

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
