"""One writer node for the security suite, joined to a local control plane (moto) so its keys come
from Secrets Manager and rotate through the real Lambda. Two tenants' graphs live on it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from cluster_local import ClusterConfig, LocalCluster
from cluster_local.config import NodeSpec
from tests.support.live_node import HOST_CHECKS_OFF

PERSON_DDL = ("CREATE NODE TABLE Person(id INT64, name STRING, PRIMARY KEY(id)); "
              "CREATE REL TABLE Knows(FROM Person TO Person, since INT64)")
TENANTS = ("tenant_a", "tenant_b")
SECRET_B = "tenant-b-secret-7f3a"
MAX_BODY_BYTES = 64 * 1024
ROTATION_WINDOW_S = 2.0


@pytest.fixture(scope="session")
def secure_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    config = ClusterConfig(
        # Kuzu: the statement-policy cases here are Kuzu's lists (LadybugDB's: tests/node_api/security/policy, per engine).
        state_dir=tmp_path_factory.mktemp("security"), environment="sec", writers=1, shared_master=False,
        engine="kuzu",
        monitor_interval_s=0, rotation_window_s=ROTATION_WINDOW_S,
        node_env={**HOST_CHECKS_OFF, "GRAPH_API_KEY_REFRESH_SECONDS": "0.5", "GRAPH_API_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
                  "GRAPH_API_MAX_CONCURRENT_QUERIES": "2", "GRAPH_API_MAX_QUEUED_QUERIES": "4"},
    )
    cluster = LocalCluster(config).up()
    try:
        node = cluster.writers[0]
        with httpx.Client(base_url=node.url, headers={"X-Graph-API-Key": cluster.api_key()}, timeout=30) as http:
            for tenant in TENANTS:
                http.post("/databases", json={"graph_id": tenant, "schema_type": "custom",
                                              "custom_ddl": PERSON_DDL}).raise_for_status()
            http.post("/databases/tenant_b/query", json={
                "cypher": "CREATE (:Person {id: 1, name: $s})", "parameters": {"s": SECRET_B}}).raise_for_status()
        yield cluster
    finally:
        cluster.down()


@pytest.fixture(scope="session")
def node(secure_cluster: LocalCluster) -> NodeSpec:
    return secure_cluster.writers[0]


@pytest.fixture
def http(secure_cluster: LocalCluster, node: NodeSpec) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, headers={"X-Graph-API-Key": secure_cluster.api_key()}, timeout=30,
                      trust_env=False) as client:
        yield client


@pytest.fixture(scope="session")
def base_path(secure_cluster: LocalCluster, node: NodeSpec):  # noqa: ANN201 - pathlib.Path
    from cluster_local import volumes

    return volumes.volume_dir(secure_cluster.state_dir, node.volume_id)
