"""Red-team regressions: the size of a staging SQL answer, which lives in the node's own process.

Found 2026-11-30 against main 226515e (DuckDB 1.5.5) on a real node (KUZU_MAX_MEMORY_MB=3000): tenant
SQL answered as JSON was fetched whole (up to GRAPH_API_STAGING_MAX_ROWS, 10,000 rows) whatever its
size, and GRAPH_API_MAX_JSON_RESULT_BYTES, which bounds Cypher answers, did not apply.
`SELECT repeat('x', 1000000) FROM range(1000)` answered 200 with 1 GB and took the node process to
3.1 GB, past its budget; 10,000 such rows would have taken ten times that. A streamed answer
(NDJSON/SSE) held each 1,000-row chunk whole in the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.support.live_node import LiveNode
from tests.support.node import HEADERS, PERSON_DDL

MAX_JSON_BYTES = 1 << 20  # the setting's smallest value


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNode]:
    node = LiveNode(tmp_path_factory.mktemp("results") / "dbs",
                    env={"GRAPH_API_MAX_JSON_RESULT_BYTES": str(MAX_JSON_BYTES)}).start()
    try:
        with httpx.Client(base_url=node.url, headers=HEADERS, timeout=30) as http:
            http.post("/databases", json={"graph_id": "attacker", "schema_type": "custom",
                                          "custom_ddl": PERSON_DDL}).raise_for_status()
        yield node
    finally:
        node.stop()


def test_attack_a_large_staging_json_answer_is_refused_not_held(node: LiveNode) -> None:
    with httpx.Client(base_url=node.url, headers=HEADERS, timeout=60) as http:
        # 2,000 rows of 10 kB: 20 MB of JSON, within the row cap, twenty times the byte limit.
        response = http.post("/databases/attacker/tables/query",
                             json={"sql": "SELECT repeat('x', 10000) AS s FROM range(2000)"})
        assert response.status_code == 400, response.text[:300]
        assert response.json()["error"]["code"] == "result_too_large"
        assert len(response.content) < 2000

        small = http.post("/databases/attacker/tables/query", json={"sql": "SELECT 1 AS one FROM range(3)"})
        assert small.status_code == 200 and small.json()["rows"] == [[1], [1], [1]]


def test_attack_a_streamed_staging_answer_is_relayed_in_bounded_chunks(node: LiveNode) -> None:
    rows = 0
    with httpx.Client(base_url=node.url, headers={**HEADERS, "Accept": "application/x-ndjson"}, timeout=60) as http, \
            http.stream("POST", "/databases/attacker/tables/query",
                        json={"sql": "SELECT repeat('x', 200000) AS s FROM range(600)"}) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            event = json.loads(line)
            if event["type"] == "rows":
                # One fetch of rows at most (100 rows of 200 kB), never the 1,000-row chunk whole.
                assert len(line) < 25 << 20 and len(event["rows"]) <= 100, len(line)
                rows += len(event["rows"])
            else:
                assert event["type"] in ("header", "summary"), line[:300]
    assert rows == 600
