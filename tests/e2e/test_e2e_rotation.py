"""Rotating the API key (Secrets Manager + the rotation Lambda) under traffic fails no request."""

from __future__ import annotations

import threading
from collections.abc import Callable

from client.exceptions import GraphClientError
from client.factory import GraphClientFactory
from cluster_local import LocalCluster
from tests.e2e.support import PERSON_DDL, client_config, isolated_client
from tests.support.waiting import until_sync


def test_rotate_the_key_mid_traffic_with_no_failed_request(cluster: LocalCluster) -> None:
    graphs = ["rotate-a", "rotate-b"]
    setup = GraphClientFactory(client_config(cluster))
    for graph_id in graphs:
        with isolated_client(setup, graph_id, "create") as client:
            client.create_database(graph_id, "custom", PERSON_DDL)
    assert {setup.route(g).instance_id for g in graphs} == {s.instance_id for s in cluster.writers}

    old_key = cluster.api_key()
    stop = threading.Event()
    sent: dict[str, int] = {}
    failures: list[str] = []

    def traffic(name: str, factory_for_call: Callable[[], GraphClientFactory]) -> None:
        sent[name] = 0
        while not stop.is_set():
            for graph_id in graphs:
                try:
                    with isolated_client(factory_for_call(), graph_id) as client:
                        client.query(graph_id, "MATCH (p:Person) RETURN count(p)")
                except GraphClientError as exc:
                    failures.append(f"{name}: {exc!r}")
                sent[name] += 1

    # A long-lived client keeps the key it started with; a fresh one reads Secrets Manager each call.
    pinned = GraphClientFactory(client_config(cluster, api_key=old_key))
    threads = [
        threading.Thread(target=traffic, args=("pinned", lambda: pinned)),
        threading.Thread(target=traffic, args=("fresh", lambda: GraphClientFactory(client_config(cluster)))),
    ]
    for t in threads:
        t.start()
    def traffic_reaches(count: int) -> None:
        # Counted in requests, not seconds: how fast they go depends on the machine's load.
        until_sync(lambda: len(sent) == 2 and min(sent.values()) >= count, timeout_s=120,
                   what=f"{count} requests from each thread")

    try:
        traffic_reaches(5)  # both threads are querying
        new_key = cluster.rotate_key()
        at_rotation = max(sent.values())
        traffic_reaches(at_rotation + 5)  # and both keep querying after it
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert new_key != old_key and len(new_key) == 64
    assert failures == []

    # Both keys are accepted on every node during the rotation window; the new one is AWSCURRENT.
    for key in (old_key, new_key):
        factory = GraphClientFactory(client_config(cluster, api_key=key))
        for graph_id in graphs:
            with isolated_client(factory, graph_id) as client:
                assert client.query(graph_id, "RETURN 1").rows == [[1]]
