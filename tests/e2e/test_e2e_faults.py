"""Faults: a node killed with SIGKILL during ingestion, and a node that stops answering."""

from __future__ import annotations

import pytest

from client.config import ClientConfig
from client.exceptions import CircuitOpenError, GraphUnavailableError, NodeUnreachableError
from client.factory import GraphClientFactory
from client.resilience import Breakers
from client.sync import GraphClient
from cluster_local import LocalCluster
from tests.e2e.support import PERSON_DDL, client_config, isolated_client, node_http, people, put_parquet
from tests.support.waiting import until_sync

BIG_ROWS = 2_000_000  # long enough a COPY (~2 s here) to kill the node in the middle of it


def test_kill9_during_ingestion_then_restart(cluster: LocalCluster, factory: GraphClientFactory) -> None:
    graph_id = "fault-kill"
    source = put_parquet(cluster, "e2e/kill/person/part-0.parquet", people(1_000_000, BIG_ROWS))
    with isolated_client(factory, graph_id, "create") as client:
        client.create_database(graph_id, "custom", PERSON_DDL)
        client.query(graph_id, "UNWIND range(1, 1000) AS i CREATE (:Person {id: i, name: 'committed'})")
        node = factory.route(graph_id).instance_id
        task_id = client.copy_from_s3(graph_id, source, "Person").task_id

        def inside_the_copy() -> bool:
            task = client.get_task(task_id)
            assert task.status in ("queued", "running"), f"the copy ended before the kill: {task}"
            return task.phase in ("reading", "loading")

        until_sync(inside_the_copy, interval_s=0.02, what="the copy reading or loading")
    cluster.kill_node(node)
    cluster.start_node(node)

    with isolated_client(factory, graph_id) as client:
        task = client.get_task(task_id)
        assert task.status == "failed" and task.error is not None
        assert task.error.get("code") == "interrupted"
        # The database opens, holds exactly what was committed, and takes writes again.
        assert client.query(graph_id, "MATCH (p:Person) RETURN count(p), min(p.name)").rows == [[1000, "committed"]]
        client.query(graph_id, "CREATE (:Person {id: 0, name: 'after'})")
        assert client.query(graph_id, "MATCH (p:Person) RETURN count(p)").rows == [[1001]]


def test_a_hung_node_is_marked_unhealthy_and_the_breaker_opens(cluster: LocalCluster) -> None:
    graph_id = "fault-hang"
    setup = GraphClientFactory(client_config(cluster))
    with isolated_client(setup, graph_id, "create") as client:
        client.create_database(graph_id, "custom", PERSON_DDL)
    spec = cluster.spec(setup.route(graph_id).instance_id)
    breakers = Breakers()
    client = GraphClient(config=ClientConfig(base_url=spec.url, api_key=cluster.api_key(), max_attempts=1,
                                             timeout_s=1.0, breaker_threshold=2, breaker_recovery_s=2.0),
                         breakers=breakers)
    cluster.pause_node(spec.instance_id)  # SIGSTOP: port open, nothing answers
    try:
        for _ in range(2):
            with pytest.raises(NodeUnreachableError):
                client.query(graph_id, "RETURN 1")
        assert client.circuit_state == "opened"
        with pytest.raises(CircuitOpenError):  # fails fast, without touching the node
            client.query(graph_id, "RETURN 1")

        report = cluster.monitor()
        assert spec.instance_id in report["unhealthy"]
        assert graph_id in report["flagged_graphs"]
        graph = next(g for g in cluster.registry_rows()["graph-registry"] if g["graph_id"] == graph_id)
        assert graph["status"] == "unavailable"
        with pytest.raises(GraphUnavailableError):
            GraphClientFactory(client_config(cluster)).route(graph_id)
    finally:
        cluster.resume_node(spec.instance_id)

    # Heartbeats resume: the next pass restores the node and its graphs, and the breaker closes.
    until_sync(lambda: spec.instance_id in cluster.monitor()["recovered"], timeout_s=20, interval_s=0.5,
               what="the node marked recovered")
    assert GraphClientFactory(client_config(cluster)).route(graph_id).instance_id == spec.instance_id

    def trial() -> list | None:  # refused while open (the breaker's recovery time); then the half-open trial
        try:
            return client.query(graph_id, "RETURN 1").rows
        except CircuitOpenError:
            return None

    assert until_sync(trial, what="the breaker letting the trial call through") == [[1]]
    assert client.circuit_state == "closed"
    client.close()
    with node_http(cluster, spec.url) as http:
        assert http.get("/status").status_code == 200
