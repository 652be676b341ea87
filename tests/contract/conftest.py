"""The backend contract suite: the same HTTP scenarios against every backend, through the FastAPI app
(httpx.ASGITransport, lifespan run by hand). Neo4j runs against the session's ArcadeDB Bolt server
(tests/support/arcadedb_server.py), configured through settings alone, like a deployed node:
NEO4J_URI / NEO4J_USERNAME / NEO4J_PASSWORD, and NEO4J_ADMIN_URL (ArcadeDB's HTTP API) so that each
graph_id gets its own server database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from node_api import app as app_module  # noqa: E402
from node_api.settings import NodeSettings  # noqa: E402
from tests.contract.contract_api import API_KEY, Api  # noqa: E402
from tests.support.arcadedb_server import ROOT_PASSWORD, ArcadeDBServer  # noqa: E402
from tests.support.engines import EMBEDDED_ENGINES  # noqa: E402


def _settings(kind: str, tmp_path: Path, server: ArcadeDBServer | None) -> NodeSettings:
    values: dict[str, object] = {
        "GRAPH_BACKEND_TYPE": kind if kind in EMBEDDED_ENGINES else "neo4j_community",
        "KUZU_DATABASE_PATH": str(tmp_path / "dbs"),
        "GRAPH_API_KEY": API_KEY,
        "KUZU_MAX_DATABASES_PER_NODE": 20,
        "KUZU_MEMORY_PER_DB_MB": 512,
        "KUZU_MAX_DB_SIZE_GB": 1,
        "KUZU_CHUNK_SIZE": 100,
        "GRAPH_API_SYSTEM_MEMORY_HIGH_WATER_PERCENT": 100,  # the node's own limits only, never the host's
        "GRAPH_API_MIN_FREE_DISK_MB": 0,  # nor the host's free disk
    }
    if server is not None:
        values.update({"NEO4J_URI": server.bolt_uri, "NEO4J_USERNAME": "root", "NEO4J_PASSWORD": ROOT_PASSWORD,
                       "NEO4J_ADMIN_URL": server.http_url})
    return NodeSettings(**values)  # type: ignore[arg-type]


@pytest.fixture(params=[*EMBEDDED_ENGINES, "neo4j"])
async def api(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              ) -> AsyncIterator[Api]:
    kind = request.param
    server = request.getfixturevalue("bolt_server") if kind == "neo4j" else None
    # Staging reads local Parquet through file:// under this root only (docs/ingestion.md); backups
    # stay local (no bucket).
    staging_root = tmp_path / "staging-root"
    staging_root.mkdir()
    monkeypatch.setenv("GRAPH_API_STAGING_LOCAL_ROOT", str(staging_root))
    monkeypatch.setenv("GRAPH_API_TASK_SHUTDOWN_GRACE", "0")
    monkeypatch.delenv("GRAPH_API_BACKUP_S3_BUCKET", raising=False)
    app = app_module.create_app(_settings(kind, tmp_path, server))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://node",
                                     headers={"X-Graph-API-Key": API_KEY}, timeout=60) as client:
            api = Api(kind, client, app, staging_root)
            yield api
            for info in await api.backend.list_databases():
                if info.graph_id.startswith("c_"):
                    await api.backend.delete_database(info.graph_id)


@pytest.fixture
def graph_id() -> str:
    return f"c_{uuid.uuid4().hex[:10]}"
