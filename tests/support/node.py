"""The node API in-process for tests: its settings, its app (with staging wired), an httpx client
over ASGI, and the few calls the suites make over and over. (A node in its own process:
tests/support/live_node.py.)"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import FastAPI

from node_api.app import create_app
from node_api.settings import NodeSettings

REPO_ROOT = Path(__file__).resolve().parents[2]

API_KEY = "test-key-" + "x" * 55
HEADERS = {"X-Graph-API-Key": API_KEY}

PERSON_DDL = "CREATE NODE TABLE Person(id INT64, name STRING, PRIMARY KEY(id)); " \
             "CREATE REL TABLE Knows(FROM Person TO Person, since INT64)"

# A query that runs for many seconds unless it is interrupted (about 1e9 rows).
SLOW_QUERY = "UNWIND range(1, 40000) AS x UNWIND range(1, 40000) AS y RETURN sum(x * y)"


def node_settings(base_path: Path, api_key: str, /, **overrides: Any) -> NodeSettings:
    """A small node: 512 MB and one thread per database, host limits no test machine reaches (overrides
    may replace any of it, the key included)."""
    values: dict[str, Any] = {
        "base_path": base_path,
        "api_key": api_key,
        "memory_per_db_mb": 512,
        "max_db_size_gb": 16,
        "threads_per_db": 1,
        "max_memory_mb": 16384,
        "system_memory_high_water_percent": 100,  # never the host's memory: the node's own limits only
        "min_free_disk_mb": 0,  # nor the host's free disk (tests that need the floor set their own)
    }
    values.update(overrides)
    return NodeSettings(**values)


def make_settings(base_path: Path, **overrides: Any) -> NodeSettings:
    """`node_settings` with `API_KEY` and room for 100 databases."""
    return node_settings(base_path, API_KEY, **{"max_databases": 100, "max_open_databases": 100, **overrides})


def node_client(settings: NodeSettings, **app_kwargs: Any) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    """The app for `settings`, started, and a client on it sending `HEADERS`."""
    return in_process_client(create_app(settings, **app_kwargs), HEADERS)


@asynccontextmanager
async def in_process_client(app: FastAPI, headers: dict[str, str],
                            timeout_s: float = 60) -> AsyncIterator[httpx.AsyncClient]:
    """The app started (lifespan) and an httpx client on it; `client.app` is the app."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://node", headers=headers,
                                     timeout=timeout_s) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def create_db(client: httpx.AsyncClient, graph_id: str, ddl: str | None = None,
                    schema_type: str | None = None) -> None:
    body: dict[str, Any] = {"graph_id": graph_id}
    if ddl is not None:
        body.update(schema_type="custom", custom_ddl=ddl)
    elif schema_type:
        body["schema_type"] = schema_type
    response = await client.post("/databases", json=body)
    assert response.status_code == 201, response.text


async def cypher(client: httpx.AsyncClient, graph_id: str, query: str, **params: Any) -> httpx.Response:
    return await client.post(f"/databases/{graph_id}/query", json={"cypher": query, "parameters": params})


async def cypher_rows(client: httpx.AsyncClient, graph_id: str, query: str, **params: Any) -> list[list[Any]]:
    response = await cypher(client, graph_id, query, **params)
    assert response.status_code == 200, response.text
    return response.json()["rows"]


async def in_flight_queries(client: httpx.AsyncClient) -> int:
    """Queries the node is running now (GET /info), for tests that wait for one to be under way."""
    return (await client.get("/info")).json()["in_flight_queries"]


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()
