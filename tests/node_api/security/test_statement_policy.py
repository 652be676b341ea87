"""The statement policy (node_api/security/policy.py) over HTTP on a real node process: every refused
function and statement answers 403 forbidden_statement, allowed ones run, error bodies carry no engine
internals, and after each group the node is alive and the graph usable."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from cluster_local import LocalCluster
from cluster_local.config import NodeSpec
from node_api.security.policy import KUZU
from tests.node_api.security.policy.corpus import ALLOWED, ALLOWED_WITHOUT_PLAN, REFUSED_BY_PLAN, for_engine
from tests.node_api.security.policy.test_tokens import REFUSED, spellings

GRAPH = "policy_graph"
DDL = ("CREATE NODE TABLE P(id INT64 PRIMARY KEY, name STRING, v FLOAT[3]); "
       "CREATE REL TABLE K(FROM P TO P, w DOUBLE)")
PARAMS = {"n": 9, "path": "/etc/passwd", "file": "/etc/passwd", "tables": {"P": "n.id > 0"}, "id": 1, "t": "P"}

# Text that only the layers under the API produce; none of it may reach a response body.
INTERNALS = ("Traceback", "pybind11", "PYBIND11", "<class '", "C++", ".cpp", "std::", 'File "',
             "incompatible function arguments", "Python object", "RuntimeError", "TypeError", "kuzu-dbs")


@pytest.fixture(scope="module")
def graph(secure_cluster: LocalCluster, node: NodeSpec) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, headers={"X-Graph-API-Key": secure_cluster.api_key()}, timeout=30,
                      trust_env=False) as client:
        client.post("/databases", json={"graph_id": GRAPH, "schema_type": "custom",
                                        "custom_ddl": DDL}).raise_for_status()
        query(client, "CREATE (:P {id: 1, name: 'alpha beta', v: [1, 2, 3]})-[:K {w: 1.0}]->"
                      "(:P {id: 2, name: 'b', v: [3, 2, 1]})").raise_for_status()
        yield client
        client.delete(f"/databases/{GRAPH}")


def query(client: httpx.Client, cypher: str, graph_id: str = GRAPH) -> httpx.Response:
    params = {name: value for name, value in PARAMS.items() if f"${name}" in cypher}  # Kuzu refuses extras
    return client.post(f"/databases/{graph_id}/query", json={"cypher": cypher, "parameters": params})


def assert_alive_and_usable(client: httpx.Client) -> None:
    assert client.get("/status/live").status_code == 200
    response = query(client, "MATCH (p:Person) RETURN count(p)", "tenant_a")
    assert response.status_code == 200, response.text


def assert_forbidden(response: httpx.Response, cypher: str) -> None:
    assert response.status_code == 403, (cypher, response.status_code, response.text[:300])
    body = response.json()
    assert body["error"]["code"] == "forbidden_statement" and body["request_id"], body


def test_the_issues_inputs_are_refused_in_every_spelling(graph: httpx.Client) -> None:
    for statement in REFUSED:
        for cypher in spellings(statement):
            assert_forbidden(query(graph, cypher), cypher)
    assert_alive_and_usable(graph)


def test_every_refused_function_is_refused(graph: httpx.Client) -> None:
    assert len(KUZU.refused_functions) >= 15
    for name in KUZU.refused_functions:
        for cypher in (f"CALL {name}() RETURN *", f"CALL `{name.lower()}`('x') RETURN *",
                       f"/* */ call {name.lower()} ('/etc/passwd') return *", f"RETURN {name}('x')",
                       f"MATCH (p:P) RETURN `{name}`(p.name)"):
            assert_forbidden(query(graph, cypher), cypher)
    assert_alive_and_usable(graph)


def test_statements_the_plan_would_refuse_never_reach_the_engine(graph: httpx.Client, tmp_path) -> None:
    for template, _ in for_engine(REFUSED_BY_PLAN, "kuzu"):
        cypher = template.replace("{tmp}", str(tmp_path))
        assert_forbidden(query(graph, cypher), cypher)
    assert not list(tmp_path.iterdir())  # no export directory, no leaked file
    assert_alive_and_usable(graph)


def test_a_macro_or_an_fts_index_cannot_crash_the_node(graph: httpx.Client) -> None:
    # Kuzu 0.11.3: after CREATE MACRO, or after CREATE_FTS_INDEX (which makes macros), CALL
    # show_functions() segfaults the process, for good. Both halves of the crash are handled.
    assert_forbidden(query(graph, "CREATE MACRO m(x) AS x + 1"), "CREATE MACRO")
    created = query(graph, "CALL create_fts_index('P', 'names', ['name'])")
    assert created.status_code == 200, created.text
    found = query(graph, "CALL query_fts_index('P', 'names', 'alpha') RETURN node.id")
    assert found.json()["rows"] == [[1]]
    for cypher in ("CALL show_functions() RETURN count(*)", "CALL SHOW_FUNCTIONS() RETURN *"):
        assert_forbidden(query(graph, cypher), cypher)
    assert query(graph, "CALL drop_fts_index('P', 'names')").status_code == 200
    assert_alive_and_usable(graph)


def test_allowed_statements_run(graph: httpx.Client) -> None:
    statements = for_engine(ALLOWED, "kuzu")
    reads = [s for s, kind in statements if kind == "read"]
    writes = [s for s, kind in statements if kind == "write"]
    for cypher in [*reads, *ALLOWED_WITHOUT_PLAN, *writes]:
        response = query(graph, cypher)
        # 400 is the engine's own answer (a projected graph lives on another pooled connection, a
        # table an earlier write dropped): the policy let the statement through, which is the point.
        assert response.status_code in (200, 400), (cypher, response.status_code, response.text[:300])
        if response.status_code == 400:
            assert response.json()["error"]["code"] in ("invalid_query", "query_failed"), response.text
    assert query(graph, "CALL show_tables() RETURN name").status_code == 200
    assert_alive_and_usable(graph)


FAILING = [
    ("RETURN 1 +", {}),
    ("MATCH (n:Nope) RETURN n", {}),
    ("RETURN $x + 1", {"x": "a"}),
    ("RETURN $x", {"x": [1, "a", {"b": 2}]}),
    ("RETURN $x", {"x": {"a": [1, [2, "x"]]}}),
    ("RETURN $x", {"x": [[1], [[2]]]}),
    ("RETURN $x", {"x": [[], {}]}),
    ("RETURN $a", {"b": 1}),
    ("RETURN error('boom')", {}),
    ("RETURN CAST('x' AS INT64)", {}),
    ("RETURN 1 / 0", {}),
    ("RETURN date('nope')", {}),
    ("RETURN to_int8(1000)", {}),
    ("UNWIND range(1, 3) AS x RETURN list_element([1], x)", {}),
    ("MATCH (p:Person) SET p.id = 'a'", {}),
    ("CREATE (:Person {id: 1}), (:Person {id: 1})", {}),
    ("CREATE NODE TABLE X(id INT64)", {}),
    ("CALL table_info('Nope') RETURN *", {}),
    ("CALL query_fts_index('Person', 'nope', 'x') RETURN *", {}),
    ("CALL page_rank('nope') RETURN *", {}),
]


def test_error_bodies_are_in_the_apis_words(secure_cluster: LocalCluster, node: NodeSpec,
                                            http: httpx.Client) -> None:
    ids: dict[str, str] = {}
    for cypher, params in FAILING:
        response = http.post("/databases/tenant_a/query", json={"cypher": cypher, "parameters": params})
        assert 400 <= response.status_code < 500, (cypher, response.status_code, response.text)
        body = response.json()
        assert set(body) == {"error", "request_id"} and body["error"]["message"], body
        leaked = [marker for marker in INTERNALS if marker in response.text]
        assert not leaked, (cypher, leaked, response.text)
        ids[cypher + json.dumps(params)] = body["request_id"]
    assert_alive_and_usable(http)
    # The full engine text went to the node's log, under the request id of the answer, and only there.
    by_id = {request_id: key for key, request_id in ids.items()}
    log = (secure_cluster.state_dir / "logs" / f"{node.instance_id}.log").read_text(errors="replace")
    logged = [entry for entry in (json.loads(line) for line in log.splitlines() if line.startswith("{"))
              if entry.get("event") == "engine error" and entry.get("request_id") in by_id]
    assert logged and all(entry["error"] != entry["public_message"] for entry in logged), logged
