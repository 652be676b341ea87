"""Red-team regressions: one tenant (holding the node's API key) starving the node and its neighbours.

Found 2026-11-30 against main e77b004 on a real node process (python -m node_api) on loopback:

- A streamed result whose client stops reading keeps its admission slot (and engine connection) for
  as long as the socket stays open: its `timeout` bounds the engine, not the response. A few such
  streams take every GRAPH_API_MAX_CONCURRENT_QUERIES slot; every other tenant gets 503 until the
  attacker closes its sockets.
- Request bodies have no time limit (GRAPH_API_HEADER_TIMEOUT covers headers only): connections that
  send headers and then a body byte now and then (or nothing) stay open; at GRAPH_API_MAX_CONNECTIONS
  uvicorn answers everything, liveness included, with a plain-text 503.
- Staging SQL runs DuckDB inside the HTTP process with its own memory limit (1 GB per graph), outside
  KUZU_MAX_MEMORY_MB's accounting: the supervisor can only kill engine workers, so it kills the
  largest busy one, another tenant's query, while the HTTP process stays over the limit.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live_node import LiveNode
from tests.support.node import HEADERS, PERSON_DDL
from tests.support.waiting import until_sync

# Kuzu keeps this factorized: ~100 MB in the worker, 4 million rows (tens of MB) on the wire.
LARGE_RESULT = "UNWIND range(1, 2000) AS i UNWIND range(1, 2000) AS j RETURN i, j"


def _node(tmp_path: Path, **env: str) -> Iterator[LiveNode]:
    with LiveNode(tmp_path / "dbs", env={"KUZU_MEMORY_PER_DB_MB": "256", **env}) as node:
        with httpx.Client(base_url=node.url, headers=HEADERS, timeout=30) as http:
            for graph_id in ("attacker", "victim"):
                http.post("/databases", json={"graph_id": graph_id, "schema_type": "custom",
                                              "custom_ddl": PERSON_DDL}).raise_for_status()
        yield node


def _raw_request(node: LiveNode, path: str, body: bytes, *, accept: str = "application/json",
                 content_length: int | None = None) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", node.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a client that reads nothing
    head = (f"POST {path} HTTP/1.1\r\nHost: node\r\nX-Graph-API-Key: {HEADERS['X-Graph-API-Key']}\r\n"
            f"Content-Type: application/json\r\nAccept: {accept}\r\n"
            f"Content-Length: {len(body) if content_length is None else content_length}\r\n\r\n")
    sock.sendall(head.encode() + body)
    return sock


@pytest.fixture
def small_node(tmp_path: Path) -> Iterator[LiveNode]:
    yield from _node(tmp_path, GRAPH_API_MAX_CONCURRENT_QUERIES="2", GRAPH_API_MAX_QUEUED_QUERIES="0",
                     GRAPH_API_TIMEOUT_GRACE_S="1", GRAPH_API_MAX_CONNECTIONS="16", GRAPH_API_HEADER_TIMEOUT="1")


def test_attack_streams_nobody_reads_do_not_hold_query_slots_past_their_timeout(small_node: LiveNode) -> None:
    body = json.dumps({"cypher": LARGE_RESULT, "timeout": 1}).encode()
    held = [_raw_request(small_node, "/databases/attacker/query", body, accept="application/x-ndjson")
            for _ in range(2)]
    try:
        with httpx.Client(base_url=small_node.url, headers=HEADERS, timeout=30) as http:
            until_sync(lambda: http.get("/info").json()["in_flight_queries"] >= 2, what="both streams running")
            # The streams' own budget is 1 s + 1 s grace; past it, a neighbour is served.
            until_sync(lambda: http.post("/databases/victim/query", json={"cypher": "RETURN 1"}).status_code == 200,
                       interval_s=0.5, what="the neighbour's query served")
    finally:
        for sock in held:
            sock.close()


def test_attack_bodies_that_never_arrive_do_not_lock_the_node_out(small_node: LiveNode) -> None:
    # Headers complete (GRAPH_API_HEADER_TIMEOUT does not apply), one byte of a 1000-byte body.
    held = [_raw_request(small_node, "/databases/attacker/query", b"{", content_length=1000) for _ in range(16)]
    try:
        def live() -> dict | None:
            response = httpx.get(small_node.url + "/status/live", timeout=5)
            return response.json() if response.status_code == 200 else None

        assert until_sync(live, interval_s=0.5, what="the node answering /status/live") == {"status": "alive"}
    finally:
        for sock in held:
            sock.close()


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_attack_staging_sql_keeps_the_node_process_within_its_memory_limit(tmp_path: Path) -> None:
    limit_mb = 512
    for node in _node(tmp_path, KUZU_MAX_MEMORY_MB=str(limit_mb)):
        assert node.process is not None
        with httpx.Client(base_url=node.url, headers=HEADERS, timeout=60) as http:
            # Four 100 MB strings: within DuckDB's own 1 GB limit, past the node's 512 MB (measured
            # peak of the HTTP process: ~850 MB).
            http.post("/databases/attacker/tables/query", json={
                "sql": "SELECT sum(length(s)) FROM (SELECT repeat('a', 100000000) || i::VARCHAR AS s "
                       "FROM range(4) t(i))", "timeout": 60})
        assert _peak_rss_mb(node.process.pid) <= limit_mb
