"""Neo4j (ArcadeDB over Bolt): every case of tests/node_api/backends/values/cases.py on every transport, and sent back as a
parameter. Graph values are checked against the element ids the server gave the seeded graph."""

from __future__ import annotations

from typing import Any

import pytest

from tests.node_api.backends.values.cases import NEO4J_CASES, NEO4J_IDS, Case, neo4j_graph_values
from tests.node_api.backends.values.checks import client_problems, raw_problems, raw_round_trip_problems
from tests.node_api.backends.values.support import CLIENT_TRANSPORTS, RAW_TRANSPORTS, raw_rows, report
from tests.support.live_node import LiveNode

pytestmark = pytest.mark.usefixtures("bolt_server")


async def _expected(client, graph_id: str):  # type: ignore[no-untyped-def]
    status, rows = await raw_rows(client, graph_id, NEO4J_IDS, None, "json")
    assert status == 200, rows
    graph = neo4j_graph_values(rows[0])

    def expected(case: Case) -> tuple[Any, Any]:
        return graph[case.extra["graph"]] if "graph" in case.extra else (case.wire, case.python)

    return expected


@pytest.mark.parametrize("transport", RAW_TRANSPORTS)
async def test_every_type_on_the_wire(neo4j_http, neo4j_graph: str, transport: str) -> None:
    expected = await _expected(neo4j_http, neo4j_graph)
    report(await raw_problems(neo4j_http, neo4j_graph, NEO4J_CASES, transport, expected))


async def test_every_value_sent_back_compares_equal(neo4j_http, neo4j_graph: str) -> None:
    report(await raw_round_trip_problems(neo4j_http, neo4j_graph, NEO4J_CASES))


@pytest.mark.parametrize("transport", CLIENT_TRANSPORTS)
async def test_every_type_through_the_clients(neo4j_http, neo4j_live: LiveNode, neo4j_graph: str,
                                              transport: str) -> None:
    expected = await _expected(neo4j_http, neo4j_graph)
    import asyncio

    problems = await asyncio.to_thread(client_problems, neo4j_live.url, neo4j_graph, NEO4J_CASES, transport,
                                       expected)
    report(problems)
