"""One seeded graph per engine (tests/node_api/backends/values/cases.py), served in-process (raw JSON / NDJSON / SSE) and by a
real node process (both Python clients). The Kuzu and LadybugDB graphs are built once each and copied for the live node;
the Neo4j graph lives in the session's ArcadeDB server."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pyarrow as pa
import pytest

from node_api.app import create_app
from node_api.settings import NodeSettings
from tests.node_api.backends.values.cases import CLOCK_NS, KUZU_DDL, KUZU_SEED, NEO4J_DDL, NEO4J_SEED
from tests.support.arcadedb_server import ROOT_PASSWORD, ArcadeDBServer, neo4j_settings
from tests.support.live_node import LiveNode
from tests.support.node import (
    API_KEY,
    HEADERS,
    create_db,
    cypher,
    in_process_client,
    make_settings,
    node_client,
)

KUZU_GRAPH = "values"


async def _build_embedded(base: Path, engine: str) -> None:
    async with node_client(make_settings(base, backend_type=engine)) as client:
        await create_db(client, KUZU_GRAPH, ddl=KUZU_DDL)
        for statement in KUZU_SEED:
            response = await cypher(client, KUZU_GRAPH, statement)
            assert response.status_code == 200, response.text
        clock = pa.table({"id": pa.array([1], pa.int64()), "ns": pa.array([CLOCK_NS], pa.timestamp("ns"))})
        loaded = await client.app.state.node.backend.bulk_load(KUZU_GRAPH, "Clock", clock, ignore_errors=False)
        assert loaded.rows_loaded == 1


@pytest.fixture(scope="module")
def embedded_base(tmp_path_factory: pytest.TempPathFactory, embedded_engine: str) -> Path:
    """The values graph on each embedded engine (the `embedded_engine` parameter)."""
    base = tmp_path_factory.mktemp(f"values-{embedded_engine}") / "dbs"
    asyncio.run(_build_embedded(base, embedded_engine))
    return base


@pytest.fixture
async def embedded_http(embedded_base: Path, embedded_engine: str) -> AsyncIterator[httpx.AsyncClient]:
    async with node_client(make_settings(embedded_base, backend_type=embedded_engine)) as client:
        yield client


@pytest.fixture(scope="module")
def embedded_live(embedded_base: Path, embedded_engine: str, tmp_path_factory: pytest.TempPathFactory,
                  ) -> Iterator[LiveNode]:
    copy = tmp_path_factory.mktemp(f"values-{embedded_engine}-live") / "dbs"
    shutil.copytree(embedded_base, copy)
    node = LiveNode(copy, {"GRAPH_BACKEND_TYPE": embedded_engine}).start()
    try:
        yield node
    finally:
        node.stop()


def _neo4j_settings(server: ArcadeDBServer, data: Path) -> NodeSettings:
    return neo4j_settings(server, data, GRAPH_API_KEY=API_KEY, NEO4J_ADMIN_URL=server.http_url,
                          KUZU_CHUNK_SIZE=2)


@pytest.fixture(scope="session")
def neo4j_graph(bolt_server: ArcadeDBServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    graph_id = f"v_{uuid.uuid4().hex[:10]}"
    data = tmp_path_factory.mktemp("values-neo4j")

    async def seed() -> None:
        async with in_process_client(create_app(_neo4j_settings(bolt_server, data)), HEADERS) as client:
            await create_db(client, graph_id, ddl=NEO4J_DDL)
            response = await cypher(client, graph_id, NEO4J_SEED)
            assert response.status_code == 200, response.text

    async def drop() -> None:
        async with in_process_client(create_app(_neo4j_settings(bolt_server, data)), HEADERS) as client:
            await client.delete(f"/databases/{graph_id}")

    asyncio.run(seed())
    yield graph_id
    asyncio.run(drop())


@pytest.fixture
async def neo4j_http(bolt_server: ArcadeDBServer, neo4j_graph: str, tmp_path: Path,
                     ) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process_client(create_app(_neo4j_settings(bolt_server, tmp_path)), HEADERS) as client:
        yield client


@pytest.fixture(scope="session")
def neo4j_live(bolt_server: ArcadeDBServer, neo4j_graph: str, tmp_path_factory: pytest.TempPathFactory,
               ) -> Iterator[LiveNode]:
    base = tmp_path_factory.mktemp("values-neo4j-live") / "data"
    env = {"GRAPH_BACKEND_TYPE": "neo4j_community", "NEO4J_URI": bolt_server.bolt_uri, "NEO4J_USERNAME": "root",
           "NEO4J_PASSWORD": ROOT_PASSWORD, "NEO4J_ADMIN_URL": bolt_server.http_url}
    node = LiveNode(base, env).start()
    try:
        yield node
    finally:
        node.stop()

