"""A real node process on 127.0.0.1: start-up, logs, streaming over a socket, client disconnects."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from tests.support.node import HEADERS, PERSON_DDL, REPO_ROOT, SLOW_QUERY
from tests.support.waiting import until_sync


def test_cli_help_lists_the_options():
    out = subprocess.run([sys.executable, "-m", "node_api", "--help"], capture_output=True, text=True, cwd=REPO_ROOT,
                         check=True).stdout
    for option in ("--base-path", "--node-type", "--port", "writer", "shared_master"):
        assert option in out


def test_requests_are_logged_as_json_lines(live_node):
    with httpx.Client(base_url=live_node.url, headers=HEADERS) as http:
        assert http.post("/databases", json={"graph_id": "logged", "schema_type": "custom",
                                             "custom_ddl": PERSON_DDL}).status_code == 201
        response = http.post("/databases/logged/query", json={"cypher": "RETURN 1"},
                             headers={"X-Request-ID": "req-42"})
        assert response.headers["x-request-id"] == "req-42"
        http.post("/databases/logged/query", json={"cypher": "RETRN"})

    def records() -> list[dict]:  # once the last request's line is written (after its answer)
        complete = live_node.log_path.read_text().split("\n")[:-1]
        lines = [json.loads(line) for line in complete if line.startswith("{")]
        return lines if any(r.get("http_status") == 400 for r in lines) else []

    records = until_sync(records, what="the access line of the refused query")
    query_line = next(r for r in records if r.get("request_id") == "req-42")
    for field in ("timestamp", "level", "node_type", "tier", "instance_id", "graph_id", "operation",
                  "duration_ms", "status"):
        assert field in query_line, field
    assert query_line["graph_id"] == "logged" and query_line["operation"] == "query"
    assert query_line["status"] == "success" and query_line["node_type"] == "writer"
    assert any(r.get("http_status") == 400 and r.get("status") == "error" for r in records)


def test_disconnected_stream_client_releases_the_engine(live_node):
    with httpx.Client(base_url=live_node.url, headers=HEADERS, timeout=30) as http:
        http.post("/databases", json={"graph_id": "s", "schema_type": "custom", "custom_ddl": PERSON_DDL})
        with http.stream("POST", "/databases/s/query", headers={"Accept": "application/x-ndjson"},
                         json={"cypher": "UNWIND range(1, 1000000) AS i RETURN i"}) as r:
            assert r.status_code == 200
            first = next(r.iter_lines())
            assert json.loads(first)["type"] == "header"
        # the client went away mid-stream: the connection and admission slot come back
        until_sync(lambda: (info := http.get("/info").json())["active_connections"] == 0
                   and info["in_flight_queries"] == 0, what="the connection and query slot released")
        assert http.post("/databases/s/query", json={"cypher": "RETURN 1"}).json()["rows"] == [[1]]


def test_client_timeout_interrupts_the_query(live_node):
    with httpx.Client(base_url=live_node.url, headers=HEADERS) as http:
        http.post("/databases", json={"graph_id": "t", "schema_type": "custom", "custom_ddl": PERSON_DDL})
        with pytest.raises(httpx.ReadTimeout):
            http.post("/databases/t/query", json={"cypher": SLOW_QUERY, "timeout": 60}, timeout=0.5)
        until_sync(lambda: http.get("/info").json()["in_flight_queries"] == 0,
                   what="the query interrupted, not left running")
        assert http.post("/databases/t/query", json={"cypher": "RETURN 3"}).json()["rows"] == [[3]]


def test_sigterm_stops_cleanly_and_data_survives(live_node):
    with httpx.Client(base_url=live_node.url, headers=HEADERS) as http:
        http.post("/databases", json={"graph_id": "d", "schema_type": "custom", "custom_ddl": PERSON_DDL})
        http.post("/databases/d/query", json={"cypher": "CREATE (:Person {id: 7, name: 'kept'})"})
    live_node.stop()
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells it was SIGTERM.
    assert live_node.process.returncode in (0, -15)
    assert any("Application shutdown complete" in line for line in live_node.logs())
    live_node.start()
    with httpx.Client(base_url=live_node.url, headers=HEADERS) as http:
        rows = http.post("/databases/d/query", json={"cypher": "MATCH (p:Person) RETURN p.name"}).json()["rows"]
        assert rows == [["kept"]]


def test_large_bodies_are_not_mistaken_for_large_headers(live_node):
    """The header limit counts only what arrives before the headers end, not the body after them."""
    with httpx.Client(base_url=live_node.url, headers=HEADERS) as http:
        http.post("/databases", json={"graph_id": "b", "schema_type": "custom", "custom_ddl": PERSON_DDL})
        padding = "x" * 300_000  # well past GRAPH_API_MAX_HEADER_BYTES, well under the body limit
        response = http.post("/databases/b/query", json={"cypher": "RETURN size($p)", "parameters": {"p": padding}})
        assert response.status_code == 200, response.text
        assert response.json()["rows"] == [[300_000]]
        too_big = http.get("/status", headers={"X-Pad": "p" * 100_000})
        assert too_big.status_code == 431 and too_big.json()["error"]["code"] == "headers_too_large"
