"""Helpers of the staging suite: the node in-process over httpx, graphs, Parquet data."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa

from node_api.app import create_app
from node_api.settings import NodeSettings
from tests.support import node

BUCKET = "tenant-data"


def put_parquet(client, key: str, table: pa.Table, bucket: str = BUCKET) -> str:
    client.put_object(Bucket=bucket, Key=key, Body=node.parquet_bytes(table))
    return f"s3://{bucket}/{key}"


# ---- the node, in-process over httpx (the lead's create_app + this package's service hook)

API_KEY = "staging-key-" + "x" * 52
HEADERS = {"X-Graph-API-Key": API_KEY}

GRAPH_DDL = (
    "CREATE NODE TABLE Entity(identifier STRING, name STRING, score DOUBLE, PRIMARY KEY(identifier));"
    "CREATE REL TABLE OWNS(FROM Entity TO Entity, since INT64);"
)


def node_settings(base_path: Path, **overrides: Any) -> NodeSettings:
    return node.node_settings(base_path, API_KEY, **{"memory_per_db_mb": 128, **overrides})


def running_node(settings: NodeSettings) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    return node.in_process_client(create_app(settings), HEADERS)


async def create_graph(client: httpx.AsyncClient, graph_id: str, ddl: str = GRAPH_DDL) -> None:
    await node.create_db(client, graph_id, ddl)


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
