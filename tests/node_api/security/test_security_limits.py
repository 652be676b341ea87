"""Oversized and malformed bodies, and slow clients: refused or outlasted, never a 5xx or a stuck node."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from cluster_local.config import HOST, NodeSpec
from tests.node_api.security.conftest import MAX_BODY_BYTES
from tests.support.waiting import until_sync


def test_declared_oversized_body_is_refused(http: httpx.Client) -> None:
    body = json.dumps({"cypher": "RETURN 1", "parameters": {"p": "x" * MAX_BODY_BYTES}})
    response = http.post("/databases/tenant_a/query", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


def test_chunked_oversized_body_is_refused(http: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the node must count as it reads
        yield b'{"cypher": "RETURN 1", "parameters": {"p": "'
        for _ in range(2 * MAX_BODY_BYTES // 4096):
            yield b"x" * 4096
        yield b'"}}'

    response = http.post("/databases/tenant_a/query", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


@pytest.mark.parametrize("body", [
    {"cypher": "RETURN 1 AS x" + " " * 20_000},  # under the body limit, over the query length
    {"cypher": "RETURN $p", "parameters": {"p": json.loads("[" * 900 + "]" * 900)}},
    {"cypher": "RETURN 1", "parameters": {f"p{i}": i for i in range(3000)}},
    {"cypher": "RETURN 1", "timeout": 1e308},
    {"cypher": "RETURN 1", "timeout": -1},
    {"cypher": ["RETURN 1"]},
])
def test_hostile_bodies_get_a_4xx(http: httpx.Client, body: dict) -> None:
    response = http.post("/databases/tenant_a/query", json=body)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert response.json()["error"]["code"]


def test_hostile_raw_bodies_get_a_4xx(http: httpx.Client) -> None:
    for raw in (b'{"cypher": "RETURN $p", "parameters": {"p": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}", b"\xff\xfe\x00", b'{"cypher": "RETURN 1"', b"null", b"1e999999"):
        response = http.post("/databases/tenant_a/query", content=raw, headers={"Content-Type": "application/json"})
        assert 400 <= response.status_code < 500, (raw[:20], response.status_code, response.text[:300])


def _send_raw(port: int, request: bytes) -> bytes:
    with socket.create_connection((HOST, port), timeout=10) as s:
        try:
            s.sendall(request)
            return s.recv(100)
        except (ConnectionResetError, BrokenPipeError):
            return b""


HUGE_HEADER = b"GET /status HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2_000_000 + b"\r\n\r\n"


def test_huge_headers_do_not_hurt_the_node(node: NodeSpec, http: httpx.Client) -> None:
    for _ in range(3):
        _send_raw(node.port, HUGE_HEADER)
    assert http.get("/status").status_code == 200
    assert http.post("/databases/tenant_a/query", json={"cypher": "RETURN 1"}).status_code == 200


def test_headers_over_64_kib_are_refused(node: NodeSpec) -> None:
    answer = _send_raw(node.port, HUGE_HEADER)
    assert answer == b"" or answer.split(b" ")[1].startswith(b"4"), answer[:40]


def _slow_sender(port: int, payload: bytes, delay_s: float, stop: threading.Event, sent: list[int], i: int,
                 at_once: int = 0) -> None:
    """Sends `at_once` bytes of `payload`, then the rest a byte every `delay_s` (counting the bytes
    sent in `sent[i]`) until `stop`."""
    try:
        with socket.create_connection((HOST, port), timeout=30) as s:
            s.sendall(payload[:at_once])
            sent[i] += at_once
            for at in range(at_once, len(payload)):
                if stop.is_set():
                    return
                s.sendall(payload[at:at + 1])
                sent[i] += 1
                time.sleep(delay_s)  # kept: the trickle is the attack under test
    except OSError:
        pass  # the server closed on us: fine


def test_slow_clients_do_not_starve_others(node: NodeSpec, http: httpx.Client) -> None:
    """20 clients trickle headers byte by byte, 4 trickle a query body (the node admits only 2
    queries at once, 4 queued): other clients' queries still run, with no 503 (were the slow bodies
    holding query slots, the others would queue past GRAPH_API_QUEUE_TIMEOUT and be refused)."""
    key = http.headers["X-Graph-API-Key"].encode()
    headers_only = b"GET /databases HTTP/1.1\r\nHost: x\r\nX-Graph-API-Key: " + key + b"\r\nX-Pad: " + b"p" * 200
    body = b'{"cypher": "RETURN 1"}'
    slow_body = (b"POST /databases/tenant_a/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"X-Graph-API-Key: " + key + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    stop = threading.Event()
    sent = [0] * 24
    senders = [threading.Thread(target=_slow_sender, args=(node.port, headers_only, 0.05, stop, sent, i))
               for i in range(20)]
    # The query bodies' headers at once, then their bodies a byte every 0.5 s: they stay mid-body.
    senders += [threading.Thread(target=_slow_sender, args=(node.port, slow_body + body, 0.5, stop, sent, 20 + i,
                                                            len(slow_body)))
                for i in range(4)]
    for t in senders:
        t.start()
    try:
        until_sync(lambda: min(sent[:20]) >= 10 and min(sent[20:]) > len(slow_body),
                   what="every slow client connected and mid-request (the query bodies mid-body)")
        for _ in range(20):
            response = http.post("/databases/tenant_a/query", json={"cypher": "RETURN 1"})
            assert response.status_code == 200, response.text
        info = http.get("/info").json()
        assert info["in_flight_queries"] <= 1  # slow bodies hold no admission slot
    finally:
        stop.set()
        for t in senders:
            t.join(30)


def test_a_connection_that_never_finishes_its_headers_is_closed(node: NodeSpec) -> None:
    with socket.create_connection((HOST, node.port), timeout=6) as s:
        s.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n")
        try:
            closed = s.recv(1024) is not None  # b"" (closed) or an error answer both count
        except TimeoutError:
            closed = False
    assert closed, "the server kept a header-incomplete connection open for 6 s"
