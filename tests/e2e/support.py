"""Helpers of the e2e suite: client configuration for the local cluster, Parquet files in moto S3."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from client.config import ClientConfig
from client.factory import GraphClientFactory
from client.resilience import Breakers
from cluster_local import LocalCluster
from tests.support.waiting import until_sync

PERSON_DDL = ("CREATE NODE TABLE Person(id INT64, name STRING, PRIMARY KEY(id)); "
              "CREATE REL TABLE Knows(FROM Person TO Person, since INT64)")


def client_config(cluster: LocalCluster, **overrides: Any) -> ClientConfig:
    values: dict[str, Any] = {
        "environment": cluster.config.environment, "aws_endpoint_url": cluster.moto_url,
        "api_key": cluster.api_key(), "route_ttl_s": 60.0, "timeout_s": 30.0,
    }
    values.update(overrides)
    return ClientConfig(**values)


def isolated_client(factory: GraphClientFactory, graph_id: str, operation: str = "read", **kwargs: Any) -> Any:
    """A sync client from the factory with its own circuit breakers (no state shared between tests)."""
    client = factory.sync_client(graph_id, operation, **kwargs)
    client.breakers = Breakers()
    return client


def put_parquet(cluster: LocalCluster, key: str, table: pa.Table) -> str:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    cluster.boto("s3").put_object(Bucket=cluster.config.bucket, Key=key, Body=buffer.getvalue())
    return f"s3://{cluster.config.bucket}/{key}"


def people(start: int, count: int) -> pa.Table:
    ids = pa.array(range(start, start + count), type=pa.int64())
    return pa.table({"id": ids, "name": pc.cast(ids, pa.string())})


def wait_task(client: Any, task_id: str, timeout_s: float = 120.0) -> dict[str, Any]:
    """Poll GET /tasks/{task_id}/status (an httpx.Client on the node) until the task has finished."""

    def finished() -> dict[str, Any] | None:
        task = client.get(f"/tasks/{task_id}/status").json()
        return task if task["status"] in ("succeeded", "failed") else None

    return until_sync(finished, timeout_s=timeout_s, interval_s=0.1, what=f"task {task_id} finished")


def node_http(cluster: LocalCluster, url: str, timeout_s: float = 60.0) -> Any:
    """An httpx client on one node with the cluster's current key (for endpoints the client lacks)."""
    import httpx

    return httpx.Client(base_url=url, headers={"X-Graph-API-Key": cluster.api_key()}, timeout=timeout_s,
                        trust_env=False)
