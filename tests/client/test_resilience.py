"""Retries, Retry-After and the circuit breaker against a real node that is stopped, restarted,
saturated and killed mid-stream."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from tenacity import RetryCallState

from client import (
    BackpressureError,
    CircuitOpenError,
    ClientConfig,
    GraphClient,
    NodeUnreachableError,
    NotFoundError,
    QueryTimeoutError,
    ServerError,
    StreamInterruptedError,
)
from client.resilience import Breakers, RetryPolicy, is_read_only
from tests.client.conftest import API_KEY, ClientNode
from tests.node_api.conftest import SLOW_QUERY

FAST = {"backoff_initial_s": 0.05, "backoff_max_s": 0.5}


@pytest.fixture(scope="module")
def fragile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientNode]:
    """One query at a time, none queued: a second concurrent query gets 503 + Retry-After: 1."""
    env = {"GRAPH_API_MAX_CONCURRENT_QUERIES": "1", "GRAPH_API_MAX_QUEUED_QUERIES": "0",
           "GRAPH_API_RETRY_AFTER": "1", "KUZU_CHUNK_SIZE": "100"}
    n = ClientNode(tmp_path_factory.mktemp("fragile") / "dbs", env).start()
    with GraphClient(n.url, API_KEY) as c:
        c.create_database("fragile")
    yield n
    n.stop()


def restart_later(node: ClientNode, delay_s: float) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay_s), node.start()))
    thread.start()
    return thread


def test_reads_are_retried_until_the_node_is_back(fragile: ClientNode) -> None:
    fragile.kill()
    thread = restart_later(fragile, 0.5)
    # A threshold above the attempts: here the breaker must not cut the retries short.
    with GraphClient(fragile.url, API_KEY, breakers=Breakers(), max_attempts=40, breaker_threshold=100,
                     **FAST) as c:
        assert c.query("fragile", "RETURN 1").rows == [[1]]
    thread.join()


def test_backpressure_retry_after_is_honoured_for_reads_only(fragile: ClientNode) -> None:
    with GraphClient(fragile.url, API_KEY, breakers=Breakers(), max_attempts=1) as busy:
        def hold_the_slot() -> None:
            with pytest.raises(QueryTimeoutError):
                busy.query("fragile", SLOW_QUERY, timeout=2.0)

        slow = threading.Thread(target=hold_the_slot)
        slow.start()
        time.sleep(0.3)  # the slow query holds the only slot
        with GraphClient(fragile.url, API_KEY, breakers=Breakers(), max_attempts=6, **FAST) as c:
            started = time.monotonic()
            with pytest.raises(BackpressureError) as err:  # a write: never sent twice
                c.query("fragile", "CREATE NODE TABLE T(id INT64, PRIMARY KEY(id))")
            assert err.value.retry_after == 1 and err.value.status_code == 503
            assert time.monotonic() - started < 0.9
            started = time.monotonic()
            assert c.query("fragile", "RETURN 2").rows == [[2]]  # a read: waits as told, then runs
            assert time.monotonic() - started >= 1.0
        slow.join()


def test_breaker_opens_fails_fast_and_recovers_half_open(fragile: ClientNode) -> None:
    breakers = Breakers()
    kw = {"breakers": breakers, "max_attempts": 1, "breaker_threshold": 2, "breaker_recovery_s": 1.0}
    with GraphClient(fragile.url, API_KEY, **kw) as c:
        for _ in range(3):  # answers from a working node never open the circuit
            with pytest.raises(NotFoundError):
                c.get_database("missing")
        assert c.circuit_state == "closed"
        fragile.kill()
        for _ in range(2):
            with pytest.raises(NodeUnreachableError) as err:
                c.list_databases()
            assert err.value.sent is False
        assert c.circuit_state == "opened"
        started = time.monotonic()
        with pytest.raises(CircuitOpenError) as open_err:
            c.list_databases()
        assert time.monotonic() - started < 0.1 and 0 < open_err.value.retry_in_s <= 1.0
        fragile.start()
        time.sleep(1.1)
        assert c.list_databases().total >= 1  # the half-open trial succeeds: closed again
        assert c.circuit_state == "closed"


def test_half_open_failure_reopens(fragile: ClientNode) -> None:
    breakers = Breakers()
    kw = {"breakers": breakers, "max_attempts": 1, "breaker_threshold": 1, "breaker_recovery_s": 0.3}
    fragile.kill()
    try:
        with GraphClient(fragile.url, API_KEY, **kw) as c:
            with pytest.raises(NodeUnreachableError):
                c.health()
            time.sleep(0.35)
            with pytest.raises(NodeUnreachableError):  # the trial call goes through, and fails
                c.health()
            assert c.circuit_state == "opened"
            with pytest.raises(CircuitOpenError):
                c.health()
    finally:
        fragile.start()


def test_a_killed_node_cuts_the_stream(fragile: ClientNode) -> None:
    with GraphClient(fragile.url, API_KEY, breakers=Breakers()) as c:
        rows = c.query_stream("fragile", "UNWIND range(1, 400000) AS x RETURN x")
        it = iter(rows)
        assert next(it) == [1]
        fragile.kill()
        try:
            with pytest.raises(StreamInterruptedError) as err:
                for _ in it:
                    pass
            assert 0 < err.value.rows_received < 400_000
        finally:
            fragile.start()


# --- the policy itself, for the cases a live node cannot be made to produce on demand ---------------
def test_retry_policy_decisions() -> None:
    policy = RetryPolicy(ClientConfig(retry_after_max_s=5))
    never_sent = NodeUnreachableError("refused", node="n", sent=False)
    maybe_ran = NodeUnreachableError("reset", node="n", sent=True)
    assert policy.should_retry(never_sent, idempotent=False)  # nothing reached the node
    assert not policy.should_retry(maybe_ran, idempotent=False)
    assert policy.should_retry(maybe_ran, idempotent=True)
    assert policy.should_retry(ServerError("bad gateway", status_code=502), idempotent=True)
    assert not policy.should_retry(ServerError("boom", status_code=500), idempotent=True)
    assert not policy.should_retry(BackpressureError("busy", retry_after=60), idempotent=True)  # too long
    assert not policy.should_retry(NotFoundError("nope"), idempotent=True)
    assert RetryPolicy(ClientConfig(retry_writes=True)).should_retry(maybe_ran, idempotent=False)


def test_wait_honours_retry_after_else_jittered_backoff() -> None:
    policy = RetryPolicy(ClientConfig(backoff_initial_s=0.1, backoff_max_s=2))

    def state(exc: BaseException, attempt: int) -> RetryCallState:
        s = RetryCallState(None, None, (), {})
        s.attempt_number = attempt
        s.set_exception((type(exc), exc, None))
        return s

    assert 3.0 <= policy.wait(state(BackpressureError("busy", retry_after=3), 1)) <= 3.3
    waits = [policy.wait(state(NodeUnreachableError("x", node="n", sent=False), 5)) for _ in range(20)]
    assert all(0 <= w <= 2 for w in waits) and len(set(waits)) > 1


def test_write_detection() -> None:
    assert is_read_only("MATCH (n) RETURN n.name")
    assert not is_read_only("MATCH (n) SET n.x = 1")
    assert not is_read_only("create (n:Person {id: 1})")
    assert not is_read_only("MERGE (n:P {id: 1})")
