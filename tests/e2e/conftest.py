"""One local cluster for the whole e2e suite: moto control plane + two writers + a shared master,
each its own process on 127.0.0.1 (cluster_local). Tests that break a node put it back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from client.factory import GraphClientFactory
from cluster_local import ClusterConfig, LocalCluster
from tests.e2e.support import client_config
from tests.support.live_node import HOST_CHECKS_OFF


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    config = ClusterConfig(
        state_dir=tmp_path_factory.mktemp("cluster"),
        environment="e2e",
        node_env=dict(HOST_CHECKS_OFF),
        monitor_interval_s=0,  # tests run the instance monitor themselves, when they mean to
        heartbeat_interval_s=0.5,
        heartbeat_timeout_s=5,
        health_check_timeout_s=1.0,
    )
    local = LocalCluster(config).up()
    try:
        yield local
    finally:
        local.down()


@pytest.fixture
def factory(cluster: LocalCluster) -> GraphClientFactory:
    return GraphClientFactory(client_config(cluster))


