"""One JSON access-log line per request with the spec's fields; X-Request-ID in and out.

Runs a real node process: the JSON renderer is configured by the node's entry point.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.node_api.core.helpers import API_KEY, HEADERS
from tests.support.live_node import LiveNode
from tests.support.waiting import until_sync


@pytest.fixture
def node(tmp_path: Path) -> Iterator[LiveNode]:
    with LiveNode(tmp_path / "dbs", {"WRITER_TIER": "premium", "INSTANCE_ID": "i-0logs"}, api_key=API_KEY) as n:
        yield n


def access_lines(node: LiveNode) -> list[dict[str, Any]]:
    """The node's access-log records so far (a line still being written is left out)."""
    complete = node.log_path.read_text(errors="replace").split("\n")[:-1]
    records = [json.loads(line) for line in complete if line.startswith("{")]
    return [record for record in records if record.get("event") == "request"]


def logged(node: LiveNode, request_id: str) -> list[dict[str, Any]]:
    """The access-log records once the one of `request_id` is there (empty until then)."""
    lines = access_lines(node)
    return lines if any(line["request_id"] == request_id for line in lines) else []


def test_one_json_line_per_request_with_request_id(node: LiveNode) -> None:
    with httpx.Client(base_url=node.url, headers=HEADERS, timeout=30) as client:
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
    # The access line is written after the answer is sent: wait for the last request's line.
    lines = until_sync(lambda: logged(node, bad.headers["x-request-id"]), what="the last request's access line")
    access = {line["request_id"]: line for line in lines}
    line = access["req-abc.123"]
    for field in ("timestamp", "level", "node_type", "tier", "instance_id", "graph_id", "operation",
                  "duration_ms", "status"):
        assert field in line, field
    assert (line["graph_id"], line["operation"], line["status"], line["tier"], line["instance_id"]) == (
        "logs1", "query", "success", "premium", "i-0logs")
    missing = access[generated.headers["x-request-id"]]
    assert (missing["status"], missing["http_status"], missing["operation"]) == ("error", 404, "get_schema")
    assert sum(1 for v in lines if v["request_id"] == "req-abc.123") == 1
