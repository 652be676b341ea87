"""Retries, Retry-After and the circuit breaker against a real node that is stopped, restarted,
saturated and killed mid-stream."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
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
from client.models import DatabaseList
from client.resilience import Breakers, RetryPolicy, is_read_only
from tests.client.conftest import API_KEY
from tests.support.live_node import LiveNode
from tests.support.node import HEADERS, SLOW_QUERY
from tests.support.waiting import until_sync

FAST = {"backoff_initial_s": 0.05, "backoff_max_s": 0.5}


@pytest.fixture(scope="module")
def fragile_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNode]:
    """One query at a time, none queued: a second concurrent query gets 503 + Retry-After: 1."""
    env = {"GRAPH_API_MAX_CONCURRENT_QUERIES": "1", "GRAPH_API_MAX_QUEUED_QUERIES": "0",
           "GRAPH_API_RETRY_AFTER": "1", "KUZU_CHUNK_SIZE": "100"}
    with LiveNode(tmp_path_factory.mktemp("fragile") / "dbs", env) as n:
        with GraphClient(n.url, API_KEY) as c:
            c.create_database("fragile")
        yield n


@pytest.fixture
def fragile(fragile_node: LiveNode) -> LiveNode:
    """The module's node, running: a test that failed between a kill and its restart leaves the next
    one a node to talk to (the data directory survives, so does its graph)."""
    if not fragile_node.running():
        fragile_node.start()
    return fragile_node


class CountingBreakers(Breakers):
    """Real circuit breakers that also count the calls they guard and set `refused` once a call
    could not reach the node."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.refused = threading.Event()

    @contextmanager
    def guard(self, node: str, threshold: int, recovery_s: float) -> Iterator[None]:
        self.calls += 1
        try:
            with super().guard(node, threshold, recovery_s):
                yield
        except NodeUnreachableError:
            self.refused.set()
            raise


def waits_of(client: GraphClient, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the client's retry policy chooses between attempts, as they are chosen."""
    waits: list[float] = []
    choose = client.retry_policy.wait

    def recorded(state: RetryCallState) -> float:
        waits.append(choose(state))
        return waits[-1]

    monkeypatch.setattr(client.retry_policy, "wait", recorded)
    return waits


def in_flight(node: LiveNode) -> int:
    return httpx.get(node.url + "/info", headers=HEADERS, timeout=10).json()["in_flight_queries"]


def test_reads_are_retried_until_the_node_is_back(fragile: LiveNode) -> None:
    fragile.kill()
    breakers = CountingBreakers()
    # The node comes back only after the client has been refused: the read must have been retried.
    restart = threading.Thread(target=lambda: (breakers.refused.wait(60), fragile.start()))
    restart.start()
    try:
        # A threshold above the attempts: here the breaker must not cut the retries short.
        with GraphClient(fragile.url, API_KEY, breakers=breakers, max_attempts=60, breaker_threshold=100,
                         **FAST) as c:
            assert c.query("fragile", "RETURN 1").rows == [[1]]
    finally:
        breakers.refused.set()
        restart.join()
    assert breakers.calls >= 2


def test_backpressure_retry_after_is_honoured_for_reads_only(fragile: LiveNode,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with GraphClient(fragile.url, API_KEY, breakers=Breakers(), max_attempts=1) as busy:
        def hold_the_slot() -> None:
            with pytest.raises(QueryTimeoutError):
                busy.query("fragile", SLOW_QUERY, timeout=2.0)

        slow = threading.Thread(target=hold_the_slot)
        slow.start()
        until_sync(lambda: in_flight(fragile) >= 1, what="the slow query holding the only slot")
        with GraphClient(fragile.url, API_KEY, breakers=Breakers(), max_attempts=6, **FAST) as c:
            waits = waits_of(c, monkeypatch)
            with pytest.raises(BackpressureError) as err:  # a write: never sent twice
                c.query("fragile", "CREATE NODE TABLE T(id INT64, PRIMARY KEY(id))")
            assert err.value.retry_after == 1 and err.value.status_code == 503
            assert waits == []  # refused at once, not retried
            assert c.query("fragile", "RETURN 2").rows == [[2]]  # a read: waits as told, then runs
            assert waits and all(1.0 <= w <= 1.1 for w in waits)  # Retry-After: 1, plus jitter
        slow.join()


def test_breaker_opens_fails_fast_and_recovers_half_open(fragile: LiveNode) -> None:
    breakers = CountingBreakers()
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
        with pytest.raises(CircuitOpenError) as open_err:  # fails fast: refused before any request
            c.list_databases()
        assert 0 < open_err.value.retry_in_s <= 1.0
        fragile.start()

        def trial() -> DatabaseList | None:  # refused while open; the first call let through is the trial
            try:
                return c.list_databases()
            except CircuitOpenError:
                return None

        assert until_sync(trial, what="the circuit letting a trial call through").total >= 1
        assert c.circuit_state == "closed"  # the half-open trial succeeded: closed again


def test_half_open_failure_reopens(fragile: LiveNode) -> None:
    breakers = Breakers()
    kw = {"breakers": breakers, "max_attempts": 1, "breaker_threshold": 1, "breaker_recovery_s": 0.3}
    fragile.kill()
    with GraphClient(fragile.url, API_KEY, **kw) as c:
        with pytest.raises(NodeUnreachableError):
            c.health()

        def trial() -> NodeUnreachableError | None:
            try:
                c.health()
            except CircuitOpenError:
                return None  # still open: not yet the trial
            except NodeUnreachableError as exc:
                return exc
            raise AssertionError("the killed node answered")

        assert until_sync(trial, what="the trial call going through (and failing)")
        assert c.circuit_state == "opened"
        with pytest.raises(CircuitOpenError):
            c.health()


def test_a_killed_node_cuts_the_stream(fragile: LiveNode) -> None:
    with GraphClient(fragile.url, API_KEY, breakers=Breakers()) as c:
        rows = c.query_stream("fragile", "UNWIND range(1, 400000) AS x RETURN x")
        it = iter(rows)
        assert next(it) == [1]
        fragile.kill()
        with pytest.raises(StreamInterruptedError) as err:
            for _ in it:
                pass
        assert 0 < err.value.rows_received < 400_000


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
