"""A graph survives the loss of its node, end to end on a local cluster of its own (the instance
monitor and the local autoscaling group running on their own, as in production): create a graph
through graph-cli (routed: placed by the allocator), write rows, SIGKILL its node (no deregistration),
then read every row back through the same CLI, which finds the replacement that adopted the data."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster_local import ClusterConfig, LocalCluster
from tests.e2e.support import PERSON_DDL
from tests.support.live_node import HOST_CHECKS_OFF
from tests.support.waiting import until_sync

ROWS = 500
# Bounded recovery: dead after 6 s of silence, monitor and replacer every second, node start-up, and
# each CLI attempt (a fresh process). Measured about 15-25 s on this machine; the bound leaves room.
RECOVERY_BOUND_S = 90


@pytest.fixture(scope="module")
def failover_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    config = ClusterConfig(
        state_dir=tmp_path_factory.mktemp("failover-cluster"), environment="failover", writers=2,
        shared_master=False, monitor_interval_s=1.0, heartbeat_interval_s=0.5, heartbeat_timeout_s=3,
        health_check_timeout_s=1.0, dead_after_s=6, node_env=dict(HOST_CHECKS_OFF),
    )
    local = LocalCluster(config).up()
    try:
        yield local
    finally:
        local.down()


def graph_cli(cluster: LocalCluster, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`python -m client ARGS` in a new process with exactly what `scripts/cluster env` exports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GRAPH_"))}
    env.update(cluster.client_env())
    env["COLUMNS"] = "200"
    result = subprocess.run([sys.executable, "-m", "client", *args], env=env, capture_output=True, text=True,
                            timeout=120, cwd=Path(__file__).resolve().parents[2])
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_every_committed_row_comes_back_after_the_node_is_killed(failover_cluster: LocalCluster,
                                                                 tmp_path: Path) -> None:
    cluster = failover_cluster
    ddl = tmp_path / "people.cypher"
    ddl.write_text(PERSON_DDL)
    graph_cli(cluster, "create", "survivor", "--schema-type", "custom", "--ddl-file", str(ddl))
    for start in range(0, ROWS, 100):  # several committed transactions, each acknowledged
        graph_cli(cluster, "query", "survivor",
                  f"UNWIND range({start}, {start + 99}) AS i CREATE (:Person {{id: i, name: 'p' + string(i)}})")
    home = cluster.where("survivor").instance_id
    assert home in {s.instance_id for s in cluster.writers}

    cluster.kill_node(home)
    attempts: list[str] = []

    def answered() -> subprocess.CompletedProcess[str] | None:
        result = graph_cli(cluster, "query", "survivor",
                           "MATCH (p:Person) RETURN count(p) AS n, sum(p.id) AS s, min(p.name) AS first",
                           "-f", "csv", check=False)
        attempts.append(result.stdout + result.stderr)
        return result if result.returncode == 0 else None

    try:
        result = until_sync(answered, timeout_s=RECOVERY_BOUND_S, interval_s=1.0, what="the graph served again")
    except AssertionError as exc:
        raise AssertionError(f"{exc} after {len(attempts)} attempts; the last: {attempts[-1]}") from None

    assert result.stdout.splitlines() == ["n,s,first", f"{ROWS},{ROWS * (ROWS - 1) // 2},p0"]
    route = cluster.where("survivor")
    assert route.instance_id != home and route.status == "active"
    dead = next(s for s in cluster.status()["nodes"] if s["instance_id"] == home)
    assert dead["registry_status"] == "dead" and dead["replaced_by"] == route.instance_id
    # The adopter serves writes too, and the CLI's `scripts/cluster where` agrees with the router.
    graph_cli(cluster, "query", "survivor", "CREATE (:Person {id: -1, name: 'after'})")
    assert graph_cli(cluster, "query", "survivor", "MATCH (p:Person) RETURN count(p)", "-f", "csv"
                     ).stdout.splitlines()[-1] == str(ROWS + 1)
    print(f"recovered after {len(attempts)} attempts")
