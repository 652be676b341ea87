"""Waiting for a condition instead of sleeping for a guessed time: one deadline, polled.

    await until(lambda: node.backend.stats().active_connections == 1)
    until_sync(lambda: http.get("/info").json()["open_databases"] == 0, timeout_s=30)

A condition that never holds fails the test with AssertionError (naming what was awaited) when the
deadline passes, so a slow machine makes a test slower, never wrong.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 30.0


async def until(condition: Callable[[], T | Awaitable[T]], *, timeout_s: float = DEFAULT_TIMEOUT_S,
                interval_s: float = 0.02, what: str = "the condition") -> T:
    """Polls `condition` (sync or async) until it returns a truthy value, which is returned."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout_s:g}s")
        await asyncio.sleep(interval_s)


def until_sync(condition: Callable[[], T], *, timeout_s: float = DEFAULT_TIMEOUT_S, interval_s: float = 0.05,
               what: str = "the condition") -> T:
    """The same, for tests that drive a node over blocking HTTP."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout_s:g}s")
        time.sleep(interval_s)
