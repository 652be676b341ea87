"""The session's Bolt server fixture, shared by the Neo4j backend tests and the contract suite
(registered in tests/conftest.py). Started only by the first test that asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import arcadedb_server
from tests.support.arcadedb_server import ArcadeDBServer


@pytest.fixture(scope="session")
def bolt_server() -> Iterator[ArcadeDBServer]:
    try:
        server = arcadedb_server.acquire()
    except arcadedb_server.ServerUnavailable as exc:
        pytest.fail(f"no Bolt server (ArcadeDB) for the Neo4j tests: {exc}", pytrace=False)
    yield server
    arcadedb_server.release(server)
