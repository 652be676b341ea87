"""The node API in-process for tests: its settings, its app (with staging wired), an httpx client
over ASGI, and the few calls the suites make over and over."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import FastAPI

from node_api.settings import NodeSettings


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
    }
    values.update(overrides)
    return NodeSettings(**values)


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


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()
