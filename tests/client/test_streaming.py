"""NDJSON result streams: rows are yielded as lines arrive, errors are typed, a cut is detected."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from client import AsyncGraphClient, GraphClient, InvalidQueryError, NotFoundError, StreamInterruptedError
from client.streams import ResultDecoder
from tests.client.conftest import API_KEY
from tests.support.live_node import LiveNode

N = 20_000  # the node sends KUZU_CHUNK_SIZE=100 rows per line: 200 lines
COUNT = f"UNWIND range(1, {N}) AS x RETURN x, x * 2 AS double"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, embedded_engine: str) -> Iterator[LiveNode]:
    """A node of each embedded engine (streams are read chunk by chunk from the engine's result)."""
    env = {"KUZU_CHUNK_SIZE": "100", "GRAPH_BACKEND_TYPE": embedded_engine}
    with LiveNode(tmp_path_factory.mktemp(f"streaming-{embedded_engine}") / "dbs", env) as n:
        yield n


@pytest.fixture(scope="module")
def graph(node: LiveNode) -> str:
    with GraphClient(node.url, API_KEY) as c:
        c.create_database("streaming")
    return "streaming"


def test_rows_arrive_before_the_stream_ends(node: LiveNode, graph: str) -> None:
    with GraphClient(node.url, API_KEY) as c, c.query_stream(graph, COUNT) as rows:
        assert rows.columns == ["x", "double"]  # the header is read on entering
        it = iter(rows)
        first = next(it)
        # Only the first line has been decoded: the rest is still on the wire.
        assert first == [1, 2] and rows.row_count == 100 and not rows.complete
        rest = list(it)
    assert len(rest) == N - 1 and rest[-1] == [N, 2 * N]
    assert rows.complete and rows.summary is not None and rows.summary.row_count == N


def test_plain_iteration_opens_and_closes(node: LiveNode, graph: str) -> None:
    with GraphClient(node.url, API_KEY) as c:
        assert sum(1 for _ in c.query_stream(graph, COUNT)) == N


def test_errors_before_the_first_row_keep_their_status(node: LiveNode, graph: str) -> None:
    with GraphClient(node.url, API_KEY) as c:
        with pytest.raises(InvalidQueryError):
            c.query_stream(graph, "RETURN (").__enter__()
        with pytest.raises(NotFoundError):
            list(c.query_stream("no_such_graph", "RETURN 1"))


async def test_async_stream_yields_rows_as_they_arrive(node: LiveNode, graph: str) -> None:
    async with AsyncGraphClient(node.url, API_KEY) as c:
        async with c.query_stream(graph, COUNT) as rows:
            assert rows.columns == ["x", "double"]
            seen = 0
            async for row in rows:
                if seen == 0:
                    assert row == [1, 2] and rows.row_count == 100
                seen += 1
        assert seen == N and rows.complete
        # Without `async with`, iteration opens the request itself.
        assert [r async for r in c.query_stream(graph, "UNWIND [1, 2] AS x RETURN x")] == [[1], [2]]


def test_error_line_raises_the_typed_error() -> None:
    decoder = ResultDecoder()
    decoder.feed(json.dumps({"type": "header", "columns": ["x"]}))
    assert decoder.feed(json.dumps({"type": "rows", "rows": [[1], [2]]})) == [[1], [2]]
    with pytest.raises(Exception) as err:
        decoder.feed(json.dumps({"type": "error", "error": {"code": "query_timeout", "message": "slow"}}))
    assert type(err.value).__name__ == "QueryTimeoutError" and err.value.code == "query_timeout"


def test_stream_without_summary_is_interrupted() -> None:
    decoder = ResultDecoder()
    decoder.feed(json.dumps({"type": "header", "columns": ["x"]}))
    decoder.feed(json.dumps({"type": "rows", "rows": [[1]]}))
    with pytest.raises(StreamInterruptedError) as err:
        decoder.finish()
    assert err.value.rows_received == 1
