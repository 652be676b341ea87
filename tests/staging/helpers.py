"""Helpers of the staging suite: the node in-process over httpx, graphs, Parquet data."""

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

from node_api.app import create_app
from node_api.core.staging.wiring import install_staging, staging_service
from node_api.settings import NodeSettings

BUCKET = "tenant-data"


def put_parquet(client, key: str, table: pa.Table, bucket: str = BUCKET) -> str:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    client.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
    return f"s3://{bucket}/{key}"


# ---- the node, in-process over httpx (the lead's create_app + this package's service hook)

API_KEY = "staging-key-" + "x" * 52
HEADERS = {"X-Graph-API-Key": API_KEY}

GRAPH_DDL = (
    "CREATE NODE TABLE Entity(identifier STRING, name STRING, score DOUBLE, PRIMARY KEY(identifier));"
    "CREATE REL TABLE OWNS(FROM Entity TO Entity, since INT64);"
)


def node_settings(base_path: Path, **overrides: Any) -> NodeSettings:
    values: dict[str, Any] = {
        "base_path": base_path,
        "api_key": API_KEY,
        "memory_per_db_mb": 128,
        "max_db_size_gb": 16,
        "threads_per_db": 1,
        "max_memory_mb": 16384,
    }
    values.update(overrides)
    return NodeSettings(**values)


def build_app(settings: NodeSettings) -> FastAPI:
    app = create_app(settings)
    paths = {getattr(r, "path", None) for r in app.routes}
    if "/tasks/{task_id}/status" not in paths:  # until app.py wires staging itself
        app = create_app(settings, service_hooks=[staging_service])
        install_staging(app)
    return app


@asynccontextmanager
async def running_node(settings: NodeSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://node", headers=HEADERS, timeout=60
        ) as c:
            c.app = app  # type: ignore[attr-defined]
            yield c


async def create_graph(client: httpx.AsyncClient, graph_id: str, ddl: str = GRAPH_DDL) -> None:
    response = await client.post(
        "/databases", json={"graph_id": graph_id, "schema_type": "custom", "custom_ddl": ddl}
    )
    assert response.status_code == 201, response.text


async def cypher_rows(client: httpx.AsyncClient, graph_id: str, query: str) -> list[list[Any]]:
    response = await client.post(f"/databases/{graph_id}/query", json={"cypher": query})
    assert response.status_code == 200, response.text
    return response.json()["rows"]


async def stage(client: httpx.AsyncClient, graph_id: str, table: str, pattern: str) -> httpx.Response:
    return await client.post(
        f"/databases/{graph_id}/tables", json={"table_name": table, "s3_pattern": pattern}
    )


def entities(n: int, start: int = 0) -> pa.Table:
    ids = range(start, start + n)
    return pa.table(
        {
            "identifier": [f"e{i}" for i in ids],
            "name": [f"Entity {i}" for i in ids],
            "score": [float(i) for i in ids],
        }
    )


def owns(pairs: list[tuple[int, int]]) -> pa.Table:
    return pa.table(
        {
            "from": [f"e{a}" for a, _ in pairs],
            "to": [f"e{b}" for _, b in pairs],
            "since": pa.array([2000 + i for i in range(len(pairs))], pa.int64()),
        }
    )
