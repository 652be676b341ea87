"""One JSON access-log line per request with the spec's fields; X-Request-ID in and out.

Runs a real node process: the JSON renderer is configured by the node's entry point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from operations.helpers import API_KEY, HEADERS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def live_url(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log_path = tmp_path / "node.log"
    env = {**os.environ, "GRAPH_API_KEY": API_KEY, "KUZU_MEMORY_PER_DB_MB": "512", "GRAPH_API_SYSTEM_MEMORY_HIGH_WATER_PERCENT": "100", "KUZU_MAX_DB_SIZE_GB": "16",
           "KUZU_THREADS_PER_DB": "1", "WRITER_TIER": "premium", "INSTANCE_ID": "i-0logs"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "node_api", "--base-path", str(tmp_path / "dbs"), "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(url + "/status/live", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            yield url, log_path
        finally:
            process.terminate()
            process.wait(15)


def test_one_json_line_per_request_with_request_id(live_url: tuple[str, Path]) -> None:
    url, log_path = live_url
    with httpx.Client(base_url=url, headers=HEADERS, timeout=30) as client:
        created = client.post("/databases", json={"graph_id": "logs1", "schema_type": "custom",
                                                  "custom_ddl": "CREATE NODE TABLE A(id INT64, PRIMARY KEY(id))"})
        assert created.status_code == 201
        response = client.post("/databases/logs1/query", json={"cypher": "MATCH (a:A) RETURN a"},
                               headers={"X-Request-ID": "req-abc.123"})
        assert response.headers["x-request-id"] == "req-abc.123"
        generated = client.get("/databases/nope/schema")
        assert generated.status_code == 404
        assert generated.headers["x-request-id"] == generated.json()["request_id"]
        bad = client.get("/status", headers={"X-Request-ID": "bad id with spaces"})
        assert bad.headers["x-request-id"] != "bad id with spaces"
    time.sleep(0.3)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    access = {line["request_id"]: line for line in lines if line.get("event") == "request"}
    line = access["req-abc.123"]
    for field in ("timestamp", "level", "node_type", "tier", "instance_id", "graph_id", "operation",
                  "duration_ms", "status"):
        assert field in line, field
    assert (line["graph_id"], line["operation"], line["status"], line["tier"], line["instance_id"]) == (
        "logs1", "query", "success", "premium", "i-0logs")
    missing = access[generated.headers["x-request-id"]]
    assert (missing["status"], missing["http_status"], missing["operation"]) == ("error", 404, "get_schema")
    assert sum(1 for v in access.values() if v["request_id"] == "req-abc.123") == 1
