"""Kuzu: every case of tests/node_api/backends/values/cases.py on every transport, and sent back as a parameter."""

from __future__ import annotations

import kuzu
import pytest

from node_api.backends.values import parse_type
from tests.node_api.backends.values.cases import KUZU_CASES
from tests.node_api.backends.values.checks import client_problems, raw_problems, raw_round_trip_problems
from tests.node_api.backends.values.conftest import KUZU_GRAPH
from tests.node_api.backends.values.support import CLIENT_TRANSPORTS, RAW_TRANSPORTS, report
from tests.support.live_node import LiveNode


@pytest.mark.parametrize("embedded_engine", ["kuzu"], indirect=True)  # kuzu is imported in this process
def test_each_case_returns_the_type_it_covers(embedded_base) -> None:
    """The engine itself says which type each case returns, so the coverage test can trust the cases
    (LadybugDB's: tests/node_api/backends/values/test_embedded_engines.py, in a process of its own)."""
    database = kuzu.Database(str(embedded_base / KUZU_GRAPH / "graph.kuzu"), read_only=True)
    conn = kuzu.Connection(database)
    try:
        wrong = {}
        for case in KUZU_CASES:
            result = conn.execute(case.cypher)
            name = parse_type(result.get_column_data_types()[0]).name
            result.close()
            if name != case.type_id:
                wrong[case.name] = name
        assert wrong == {}
    finally:
        conn.close()
        database.close()


@pytest.mark.parametrize("transport", RAW_TRANSPORTS)
async def test_every_type_on_the_wire(embedded_http, transport: str) -> None:
    report(await raw_problems(embedded_http, KUZU_GRAPH, KUZU_CASES, transport))


async def test_every_value_sent_back_compares_equal(embedded_http) -> None:
    report(await raw_round_trip_problems(embedded_http, KUZU_GRAPH, KUZU_CASES))


@pytest.mark.parametrize("transport", CLIENT_TRANSPORTS)
def test_every_type_through_the_clients(embedded_live: LiveNode, transport: str) -> None:
    report(client_problems(embedded_live.url, KUZU_GRAPH, KUZU_CASES, transport))
