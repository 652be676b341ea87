"""Graphs are placed by the allocator, found by the client factory, and live only on their node."""

from __future__ import annotations

from collections import Counter

import pytest

from client.exceptions import NotFoundError
from client.factory import GraphClientFactory
from cluster_local import LocalCluster
from tests.e2e.support import PERSON_DDL, isolated_client, node_http


def test_every_node_registered_itself_healthy(cluster: LocalCluster) -> None:
    rows = {r["instance_id"]: r for r in cluster.registry_rows()["instance-registry"]}
    assert set(rows) == {s.instance_id for s in cluster.specs}
    for spec in cluster.specs:
        row = rows[spec.instance_id]
        assert row["status"] == "healthy"
        assert (row["node_type"], row["cluster_tier"], int(row["port"])) == (spec.node_type, spec.tier, spec.port)


def test_allocate_route_create_and_query_across_writers(cluster: LocalCluster, factory: GraphClientFactory) -> None:
    graphs = [f"place-{i}" for i in range(4)]
    placed = {}
    for graph_id in graphs:
        # The factory allocates an unregistered graph through the allocator service, then routes to it.
        with isolated_client(factory, graph_id, "create", entity_id=f"entity-{graph_id}") as client:
            client.create_database(graph_id, "custom", PERSON_DDL)
            client.query(graph_id, "CREATE (:Person {id: 1, name: $name})", {"name": graph_id})
        placed[graph_id] = factory.route(graph_id, "read").instance_id
    # Most free slots first: four graphs over two empty writers land two and two.
    assert Counter(placed.values()) == {"local-writer-1": 2, "local-writer-2": 2}

    for graph_id, instance_id in placed.items():
        # The allocator Lambda (invoked through moto) agrees with the factory's route.
        lambda_route = cluster.route(graph_id)  # {"ok", "action", **route}
        assert (lambda_route["instance_id"], lambda_route["endpoint"]) == (instance_id, cluster.spec(instance_id).url)
        with isolated_client(factory, graph_id) as client:
            assert client.query(graph_id, "MATCH (p:Person) RETURN p.name").rows == [[graph_id]]

    # Each graph exists on its own node only.
    for spec in cluster.writers:
        with node_http(cluster, spec.url) as http:
            held = {d["graph_id"] for d in http.get("/databases").json()["databases"]}
        assert held & set(graphs) == {g for g, i in placed.items() if i == spec.instance_id}


def test_a_graph_is_not_reachable_through_another_node(cluster: LocalCluster, factory: GraphClientFactory) -> None:
    graph_id = "place-isolated"
    with isolated_client(factory, graph_id, "create") as client:
        client.create_database(graph_id, "custom", PERSON_DDL)
        home = client.base_url
    other = next(s.url for s in cluster.writers if s.url != home)
    from client.sync import GraphClient

    with GraphClient(other, cluster.api_key(), max_attempts=1) as stranger, pytest.raises(NotFoundError):
        stranger.query(graph_id, "MATCH (p:Person) RETURN count(p)")


def test_shared_repository_lives_on_the_shared_master(cluster: LocalCluster, factory: GraphClientFactory) -> None:
    with isolated_client(factory, "sec", "create", tier=cluster.config.shared_tier) as client:
        client.create_database("sec", "shared")
        assert client.base_url == cluster.shared_master.url
    route = factory.route("sec", "read")
    assert route.instance_id == cluster.shared_master.instance_id
    with isolated_client(factory, "sec") as client:
        assert client.query("sec", "RETURN 1 AS one").rows == [[1]]


def test_release_frees_the_slot(cluster: LocalCluster) -> None:
    allocated = cluster.allocate("place-released")
    assert allocated["ok"] and allocated["created"]
    instance = allocated["route"]["instance_id"]

    def slots() -> int:
        rows = cluster.registry_rows()["instance-registry"]
        return int(next(r for r in rows if r["instance_id"] == instance)["database_count"])

    before = slots()
    assert cluster.release("place-released")["ok"]
    assert slots() == before - 1
    assert cluster.route("place-released")["error"]["code"] == "not_found"
