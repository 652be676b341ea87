"""Node-wide admission control: bounded concurrency, a bounded wait queue, and a memory high-water
mark. Past any of them a request is refused at once with `Overloaded` (503 + Retry-After) instead
of queuing without bound.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

import psutil

from node_api.backends.errors import Overloaded

_MEMORY_SAMPLE_INTERVAL_S = 0.5


class AdmissionController:
    def __init__(
        self, *, max_concurrent: int, max_queued: int, queue_timeout_s: float, memory_limit_bytes: int,
        high_water_percent: float, retry_after_s: int, system_high_water_percent: float = 100.0,
        worker_memory: Callable[[], int] = lambda: 0,
    ) -> None:
        """`worker_memory()` gives the resident bytes of the node's other processes (engine workers):
        the node's memory is its whole process tree. `system_high_water_percent` also refuses work
        when the host's memory is that full (100 turns the host check off)."""
        self.max_concurrent = max_concurrent
        self.max_queued = max_queued
        self.queue_timeout_s = queue_timeout_s
        self.memory_limit_bytes = memory_limit_bytes
        self.high_water_percent = high_water_percent
        self.system_high_water_percent = system_high_water_percent
        self.retry_after_s = retry_after_s
        self._worker_memory = worker_memory
        self._slots = asyncio.Semaphore(max_concurrent)
        self.in_flight = 0
        self.queued = 0
        self.rejected = 0
        self._process = psutil.Process()
        self.own_rss_bytes = self._process.memory_info().rss
        self.system_memory_percent = psutil.virtual_memory().percent
        self._sampler: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._sampler = asyncio.create_task(self._sample_memory(), name="memory-sampler")

    async def close(self) -> None:
        if self._sampler:
            self._sampler.cancel()
            with suppress(asyncio.CancelledError):
                await self._sampler

    async def _sample_memory(self) -> None:
        # Sampled in the background: reading /proc on every request would cost more than the check.
        while True:
            self.sample_memory()
            await asyncio.sleep(_MEMORY_SAMPLE_INTERVAL_S)

    def sample_memory(self) -> None:
        self.own_rss_bytes = self._process.memory_info().rss
        self.system_memory_percent = psutil.virtual_memory().percent

    @property
    def rss_bytes(self) -> int:
        """The node's resident memory: this process (sampled every 0.5 s) and its workers (sampled
        every GRAPH_API_MEMORY_SAMPLE_MS by the supervisor: a stopped worker leaves it at once)."""
        return self.own_rss_bytes + self._worker_memory()

    @property
    def memory_pressure(self) -> str | None:
        rss = self.rss_bytes
        if rss > self.memory_limit_bytes * self.high_water_percent / 100:
            return (f"node memory (its processes) {rss >> 20} MB is past {self.high_water_percent:g}% of "
                    f"KUZU_MAX_MEMORY_MB ({self.memory_limit_bytes >> 20} MB)")
        if self.system_high_water_percent < 100 and self.system_memory_percent > self.system_high_water_percent:
            return (f"system memory use {self.system_memory_percent:g}% is past "
                    f"{self.system_high_water_percent:g}% (GRAPH_API_SYSTEM_MEMORY_HIGH_WATER_PERCENT)")
        return None

    @property
    def saturated(self) -> bool:
        return self.in_flight >= self.max_concurrent and self.queued >= self.max_queued

    def _reject(self, reason: str) -> Overloaded:
        self.rejected += 1
        return Overloaded(reason, retry_after_s=self.retry_after_s)

    @asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        pressure = self.memory_pressure
        if pressure:
            raise self._reject(pressure)
        if self._slots.locked() and self.queued >= self.max_queued:
            raise self._reject(f"node is at capacity: {self.in_flight} running, {self.queued} queued")
        if self._slots.locked():  # the common, uncontended case takes no timer
            self.queued += 1
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.queue_timeout_s):
                    await self._slots.acquire()
            except TimeoutError:
                raise self._reject(
                    f"no query slot within {time.monotonic() - started:.1f}s ({self.in_flight} running)"
                ) from None
            finally:
                self.queued -= 1
        else:
            await self._slots.acquire()
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
            self._slots.release()
