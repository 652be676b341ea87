"""Helpers of the node core's suites (backups, metrics, CloudWatch, schema): the node in-process over
httpx, graphs, tasks."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx

from node_api.app import create_app
from node_api.settings import NodeSettings
from tests.support import node
from tests.support.node import cypher_rows as cypher
from tests.support.waiting import until

API_KEY = "ops-key-" + "x" * 56
HEADERS = {"X-Graph-API-Key": API_KEY}
BUCKET = "node-backups"

PERSON_DDL = (
    "CREATE NODE TABLE Person(id INT64, name STRING, score DOUBLE, born DATE, tags STRING[], PRIMARY KEY(id));"
    "CREATE NODE TABLE City(name STRING, PRIMARY KEY(name));"
    "CREATE REL TABLE Knows(FROM Person TO Person, since INT64);"
    "CREATE REL TABLE LivesIn(FROM Person TO City)"
)


def node_settings(base_path: Path, **overrides: Any) -> NodeSettings:
    return node.node_settings(base_path, API_KEY, **{"max_databases": 20, "max_open_databases": 20, **overrides})


def running_node(settings: NodeSettings) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    return node.in_process_client(create_app(settings), HEADERS, timeout_s=120)


async def create_graph(client: httpx.AsyncClient, graph_id: str, ddl: str = PERSON_DDL) -> None:
    await node.create_db(client, graph_id, ddl)


async def wait_task(client: httpx.AsyncClient, accepted: httpx.Response, timeout_s: float = 60) -> dict[str, Any]:
    assert accepted.status_code == 202, accepted.text
    url = accepted.json()["status_url"]

    async def finished() -> dict[str, Any] | None:
        task = (await client.get(url)).json()
        return task if task["status"] in ("succeeded", "failed") else None

    return await until(finished, timeout_s=timeout_s, interval_s=0.05, what=f"task {url} finished")


async def backup(client: httpx.AsyncClient, graph_id: str, destination: str = "local") -> dict[str, Any]:
    task = await wait_task(client, await client.post(f"/databases/{graph_id}/backup",
                                                     json={"destination": destination}))
    assert task["status"] == "succeeded", task
    return task["result"]


async def backup_portable(client: httpx.AsyncClient, graph_id: str, destination: str = "local") -> dict[str, Any]:
    task = await wait_task(client, await client.post(f"/databases/{graph_id}/backup",
                                                     json={"destination": destination, "format": "portable"}))
    assert task["status"] == "succeeded", task
    return task["result"]


async def restore(client: httpx.AsyncClient, graph_id: str, location: str, target: str | None = None,
                  ) -> dict[str, Any]:
    body: dict[str, Any] = {"location": location}
    if target:
        body["target_graph_id"] = target
    return await wait_task(client, await client.post(f"/databases/{graph_id}/restore", json=body))


async def dump(client: httpx.AsyncClient, graph_id: str) -> dict[str, Any]:
    """Everything in a PERSON_DDL graph, in a fixed order: equal dumps mean equal data."""
    return {
        "schema": (await client.get(f"/databases/{graph_id}/schema")).json() | {"graph_id": None},
        "persons": await cypher(client, graph_id, "MATCH (p:Person) RETURN p.id, p.name, p.score, p.born, p.tags "
                                "ORDER BY p.id"),
        "cities": await cypher(client, graph_id, "MATCH (c:City) RETURN c.name ORDER BY c.name"),
        "knows": await cypher(client, graph_id, "MATCH (a:Person)-[k:Knows]->(b:Person) RETURN a.id, b.id, k.since "
                              "ORDER BY a.id, b.id, k.since"),
        "lives": await cypher(client, graph_id, "MATCH (a:Person)-[:LivesIn]->(c:City) RETURN a.id, c.name "
                              "ORDER BY a.id"),
    }


async def populate(client: httpx.AsyncClient, graph_id: str, n: int = 300) -> None:
    await cypher(client, graph_id, "UNWIND ['Oslo', 'Lima', 'Kyiv'] AS c CREATE (:City {name: c})")
    await cypher(client, graph_id,
                 "UNWIND range(1, $n) AS i CREATE (:Person {id: i, name: 'p' + string(i), score: to_double(i) / 7.0, "
                 "born: date('2000-01-01') + to_int64(i), tags: ['t' + string(i % 3), 'x']})", n=n)
    await cypher(client, graph_id, "MATCH (a:Person), (b:Person) WHERE b.id = a.id + 1 "
                 "CREATE (a)-[:Knows {since: a.id * 10}]->(b)")
    await cypher(client, graph_id, "MATCH (a:Person), (c:City) WHERE a.id % 3 = 0 AND c.name = 'Oslo' "
                 "CREATE (a)-[:LivesIn]->(c)")
