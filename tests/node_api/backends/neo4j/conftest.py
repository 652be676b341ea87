"""Fixtures for the Neo4j backend tests: one ArcadeDB Bolt server per session (arcadedb_server.py),
a multi-database backend (one server database per graph_id, created over ArcadeDB's HTTP API) and a
community-style single-database backend."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node_api.backends.neo4j.admin import ArcadeDBHttpAdmin, SingleDatabase
from node_api.backends.neo4j.backend import Neo4jBackend
from tests.support.arcadedb_server import ROOT_PASSWORD, ArcadeDBServer, neo4j_settings


@pytest.fixture
async def backend(bolt_server: ArcadeDBServer, tmp_path: Path) -> AsyncIterator[Neo4jBackend]:
    """Multi-database: one ArcadeDB database per graph_id."""
    admin = ArcadeDBHttpAdmin(bolt_server.http_url, "root", ROOT_PASSWORD)
    b = Neo4jBackend(neo4j_settings(bolt_server, tmp_path), admin=admin)
    await b.start()
    yield b
    for info in await b.list_databases():
        if info.graph_id.startswith("t_"):
            await b.delete_database(info.graph_id)
    await b.close()


@pytest.fixture
async def community(bolt_server: ArcadeDBServer, tmp_path: Path) -> AsyncIterator[Neo4jBackend]:
    """Community edition: a single server database, named explicitly."""
    name = f"single_{uuid.uuid4().hex[:8]}"
    bolt_server.create_database(name)
    b = Neo4jBackend(neo4j_settings(bolt_server, tmp_path), admin=SingleDatabase(name))
    await b.start()
    yield b
    await b.close()
    bolt_server.drop_database(name)


@pytest.fixture
def graph_id() -> str:
    return f"t_{uuid.uuid4().hex[:10]}"
