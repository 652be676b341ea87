"""Retries (tenacity) and a circuit breaker per node (purgatory), shared by both clients.

Order: the retry loop wraps the breaker, so every attempt is counted by the breaker and an open
circuit ends the loop at once instead of being retried.

What is retried (`RetryPolicy.should_retry`):
- a connection that was never established: nothing reached the node, so any call is safe again;
- other transport failures and 502/503/504 (503 honouring Retry-After): idempotent calls only,
  unless the caller asked for writes to be retried too (`retry_writes`), because the node may
  have run the first attempt.
4xx answers are never retried: the same request would get the same answer.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from purgatory import SyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from tenacity import RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

from client.config import ClientConfig
from client.exceptions import (
    BackpressureError,
    CircuitOpenError,
    GraphAPIError,
    InsufficientStorageError,
    NodeUnreachableError,
    ServerError,
)

# Any of these words makes a statement a write for retry purposes. Over-matching (a word inside a
# string literal) only costs a retry that did not happen, never a write that ran twice.
_WRITE_WORDS = re.compile(
    r"\b(CREATE|MERGE|SET|DELETE|DETACH|REMOVE|DROP|ALTER|COPY|LOAD|INSTALL|ATTACH|IMPORT|EXPORT|CALL|"
    r"BEGIN|COMMIT|CHECKPOINT)\b",
    re.IGNORECASE,
)


def is_read_only(statement: str) -> bool:
    return _WRITE_WORDS.search(statement) is None


class RetryPolicy:
    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self._backoff = wait_random_exponential(multiplier=config.backoff_initial_s, max=config.backoff_max_s)

    def should_retry(self, exc: BaseException, idempotent: bool) -> bool:
        safe = idempotent or self.config.retry_writes
        if isinstance(exc, NodeUnreachableError):
            return safe or not exc.sent
        if isinstance(exc, BackpressureError):
            too_long = exc.retry_after is not None and exc.retry_after > self.config.retry_after_max_s
            return safe and not too_long
        if isinstance(exc, ServerError):
            return safe and exc.status_code in (502, 503, 504)
        return False

    def wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, BackpressureError) and exc.retry_after is not None:
            # The node said when; a little jitter keeps a crowd of clients from returning together.
            return exc.retry_after + random.uniform(0, min(1.0, exc.retry_after * 0.1))
        return float(self._backoff(state))

    def tenacity_kwargs(self, idempotent: bool, *, retry_writes: bool = False) -> dict[str, Any]:
        """Arguments for tenacity.Retrying (sync client) and tenacity.AsyncRetrying (async client)."""
        return {
            "stop": stop_after_attempt(self.config.max_attempts),
            "wait": self.wait,
            "retry": retry_if_exception(lambda e: self.should_retry(e, idempotent or retry_writes)),
            "reraise": True,
        }


def _not_a_node_failure(exc: BaseException) -> bool:
    # An answer from a working node (4xx, 503 backpressure with its Retry-After, 507 from a volume
    # below its floor while reads go on) says nothing against the node's health: only other 5xx
    # errors and broken connections open the circuit.
    return not isinstance(exc, ServerError) or isinstance(exc, (BackpressureError, InsufficientStorageError))


class Breakers:
    """One circuit per node URL. Purgatory's in-memory store does no I/O, so the same sync breaker
    serves the async client too (entered around the awaited request, never across threads' state)."""

    def __init__(self) -> None:
        self._factory = SyncCircuitBreakerFactory()

    def state(self, node: str) -> str:
        breaker = self._factory.get_breaker(node)
        return breaker.context.state

    @contextmanager
    def guard(self, node: str, threshold: int, recovery_s: float) -> Iterator[None]:
        breaker = self._factory.get_breaker(
            node, threshold, recovery_s, exclude=[(GraphAPIError, _not_a_node_failure)]
        )
        try:
            breaker.__enter__()
        except OpenedState as exc:
            retry_in = max(0.0, exc.opened_at + breaker.context.ttl - time.time())
            raise CircuitOpenError(node, retry_in) from None
        try:
            yield
        except Exception as exc:
            breaker.__exit__(type(exc), exc, exc.__traceback__)
            raise
        # Cancellation and interrupts (BaseException) say nothing about the node: not recorded.
        breaker.__exit__(None, None, None)


# Process-wide: every client of the same node shares its circuit (the factory makes many clients).
default_breakers = Breakers()
