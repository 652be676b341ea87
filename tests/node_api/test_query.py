from __future__ import annotations

import json

import pytest

from tests.support.node import PERSON_DDL, SLOW_QUERY, create_db, cypher, node_client


@pytest.fixture
async def people(client):
    await create_db(client, "people", ddl=PERSON_DDL)
    response = await cypher(
        client, "people",
        "UNWIND range(1, 10) AS i CREATE (:Person {id: i, name: 'p' + cast(i AS STRING)})",
    )
    assert response.status_code == 200, response.text
    await cypher(client, "people", "MATCH (a:Person {id: 1}), (b:Person {id: 2}) CREATE (a)-[:Knows {since: 2020}]->(b)")
    return client


async def test_json_result_shape(people):
    response = await cypher(people, "people", "MATCH (p:Person) WHERE p.id <= $n RETURN p.id, p.name ORDER BY p.id", n=3)
    assert response.status_code == 200
    body = response.json()
    assert body["columns"] == ["p.id", "p.name"]
    assert body["rows"] == [[1, "p1"], [2, "p2"], [3, "p3"]]
    assert body["row_count"] == 3
    assert body["execution_time_ms"] >= 0
    assert body["graph_id"] == "people"


async def test_spec_example_return_1(people):
    body = (await cypher(people, "people", "RETURN 1 as num")).json()
    assert body["columns"] == ["num"] and body["rows"] == [[1]]


async def test_value_shapes(people):
    """The wire form of docs/result-values.md (tests/node_api/backends/values has every type on every transport)."""
    body = (await cypher(
        people, "people",
        "MATCH path = (a:Person {id: 1})-[k:Knows]->(b:Person) "
        "RETURN a, k, path, date('2024-01-31'), timestamp('2024-01-01 10:00:00'), interval('1 day 2 seconds'), "
        "cast(1.5 AS DECIMAL(10, 2)), cast('ab' AS BLOB), {x: 1, y: [1, 2]}, [a.name, b.name]",
    )).json()
    node, rel, path, day, ts, dur, dec, blob, struct, names = body["rows"][0]
    assert node == {"$type": "Node", "_value": {"_element_id": "0:0", "_labels": ["Person"],
                                                "_properties": {"id": 1, "name": "p1"}}}
    assert rel == {"$type": "Relationship", "_value": {"_element_id": "1:0", "_start_node_element_id": "0:0",
                                                       "_end_node_element_id": "0:1", "_type": "Knows",
                                                       "_properties": {"since": 2020}}}
    assert path["$type"] == "Path" and [e["$type"] for e in path["_value"]] == ["Node", "Relationship", "Node"]
    assert [e["_value"]["_element_id"] for e in path["_value"]] == ["0:0", "1:0", "0:1"]
    assert day == {"$type": "Date", "_value": "2024-01-31"}
    assert ts == {"$type": "LocalDateTime", "_value": "2024-01-01T10:00:00"}
    assert dur == {"$type": "Duration", "_value": "P1DT2S"}
    assert dec == {"$type": "Decimal", "_value": "1.50"}
    assert blob == {"$type": "Base64", "_value": "YWI="}
    assert struct == {"x": 1, "y": [1, 2]}
    assert names == ["p1", "p2"]


async def test_parameters_of_every_json_type(people):
    body = (await cypher(people, "people", "RETURN $i, $f, $s, $b, $l, $n",
                         i=5, f=1.5, s="x", b=True, l=[1, 2], n=None)).json()
    assert body["rows"] == [[5, 1.5, "x", True, [1, 2], None]]


async def test_syntax_error_is_400(people):
    response = await cypher(people, "people", "MATCH (n RETURN n")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_query" and "Parser exception" in error["message"]


async def test_unknown_table_is_400(people):
    response = await cypher(people, "people", "MATCH (n:Nope) RETURN n")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_query"


async def test_runtime_failure_keeps_data(people):
    duplicate = await cypher(people, "people", "CREATE (:Person {id: 1, name: 'again'})")
    assert duplicate.status_code == 400
    assert duplicate.json()["error"]["code"] == "query_failed"
    count = (await cypher(people, "people", "MATCH (p:Person) RETURN count(p)")).json()["rows"]
    assert count == [[10]]
    # the database still takes writes after a failed one
    assert (await cypher(people, "people", "CREATE (:Person {id: 11, name: 'p11'})")).status_code == 200


async def test_missing_database_is_404(client):
    response = await cypher(client, "nothere", "RETURN 1")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "database_not_found"


async def test_query_timeout_interrupts_the_engine(people):
    response = await people.post("/databases/people/query", json={"cypher": SLOW_QUERY, "timeout": 0.3})
    assert response.status_code == 408
    assert response.json()["error"]["code"] == "query_timeout"
    # the connection that was interrupted serves again
    assert (await cypher(people, "people", "RETURN 2")).json()["rows"] == [[2]]


async def test_timeout_above_maximum_is_refused(people):
    response = await people.post("/databases/people/query", json={"cypher": "RETURN 1", "timeout": 10_000})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_timeout"


async def test_max_query_length(settings_factory):
    async with node_client(settings_factory(max_query_length=100)) as client:
        await create_db(client, "q", ddl=PERSON_DDL)
        long_query = "RETURN " + " + ".join(["1"] * 60)
        response = await cypher(client, "q", long_query)
        assert response.status_code == 400
        assert response.json()["error"]["details"]["max_query_length"] == 100


@pytest.mark.parametrize("query", ["", "   ", "// only a comment", "RETURN 1; RETURN 2"])
async def test_empty_or_multiple_statements(people, query):
    response = await people.post("/databases/people/query", json={"cypher": query})
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] in ("invalid_query", "validation_error")


async def test_ndjson_stream_in_chunks(settings_factory):
    async with node_client(settings_factory(chunk_size=4)) as client:
        await create_db(client, "s", ddl=PERSON_DDL)
        response = await client.post(
            "/databases/s/query", json={"cypher": "UNWIND range(1, 10) AS i RETURN i, i * 2 AS twice"},
            headers={"Accept": "application/x-ndjson"},
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        events = [json.loads(line) for line in response.text.splitlines()]
        assert events[0] == {"type": "header", "columns": ["i", "twice"], "graph_id": "s"}
        chunks = [e["rows"] for e in events if e["type"] == "rows"]
        assert [len(c) for c in chunks] == [4, 4, 2]
        assert [r[0] for c in chunks for r in c] == list(range(1, 11))
        assert events[-1]["type"] == "summary" and events[-1]["row_count"] == 10 and events[-1]["complete"]


async def test_sse_stream(people):
    response = await people.post(
        "/databases/people/query", json={"cypher": "MATCH (p:Person) RETURN p.id ORDER BY p.id"},
        headers={"Accept": "text/event-stream"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in response.text.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    assert events[0][0] == "header" and events[0][1]["columns"] == ["p.id"]
    rows = [r[0] for kind, data in events if kind == "rows" for r in data["rows"]]
    assert rows == list(range(1, 11))
    assert events[-1][0] == "summary" and events[-1][1]["row_count"] == 10


async def test_streaming_errors_before_first_row_keep_their_status(people):
    for accept in ("application/x-ndjson", "text/event-stream"):
        missing = await people.post("/databases/none/query", json={"cypher": "RETURN 1"}, headers={"Accept": accept})
        assert missing.status_code == 404
        syntax = await people.post("/databases/people/query", json={"cypher": "RETRN 1"}, headers={"Accept": accept})
        assert syntax.status_code == 400
        slow = await people.post("/databases/people/query", json={"cypher": SLOW_QUERY, "timeout": 0.2},
                                 headers={"Accept": accept})
        assert slow.status_code == 408


async def test_accept_application_jsonl_streams(people):
    response = await people.post("/databases/people/query", json={"cypher": "RETURN 1"},
                                 headers={"Accept": "application/jsonl"})
    assert [json.loads(x)["type"] for x in response.text.splitlines()] == ["header", "rows", "summary"]
