"""What a local cluster is made of: its nodes, ports, names and timings (plain data, no I/O)."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"  # the only address anything here binds to or dials
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class NodeSpec:
    """One node process: its registry identity and where it listens."""

    instance_id: str  # not "i-...": the instance monitor asks EC2 about those, and moto knows none
    node_type: str  # writer | shared_master
    tier: str
    port: int
    # The node's data directory is state_dir/volumes/<volume_id>: the local stand-in for its EBS volume.
    volume_id: str = ""
    replaced_by: str | None = None  # set when it died and a replacement adopted its volume

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


@dataclass(frozen=True)
class ClusterConfig:
    state_dir: Path = Path(".cluster")
    environment: str = "local"
    writers: int = 2
    shared_master: bool = True
    moto_port: int = 0  # 0: pick free ports at `up`
    node_base_port: int = 0
    writer_tier: str = "standard"
    shared_tier: str = "shared"
    max_databases: int = 10
    engine: str = "ladybug"  # every node's GRAPH_BACKEND_TYPE: ladybug (the default) or kuzu
    secret_id: str = "graph-cluster/local/api-key"
    bucket: str = "graph-cluster-local-data"
    backup_bucket: str = "graph-cluster-local-backups"
    rotation_function: str = "graph-cluster-local-key-rotation"
    heartbeat_interval_s: float = 2.0
    heartbeat_timeout_s: int = 10
    health_check_timeout_s: float = 1.0
    monitor_interval_s: float = 5.0  # 0: the instance monitor only runs when invoked (tests do)
    # A node that has served and is silent this long is dead: a replacement adopts its data directory.
    dead_after_s: int = 20
    availability_zone: str = "us-east-1a"  # every local node and volume is in one zone
    router_port: int = 0  # the router API under uvicorn; 0 = a free one
    # How long a rotated-out key stays valid on the nodes.
    rotation_window_s: float = 86400.0
    # Extra environment for every node (e.g. smaller admission limits in a test).
    node_env: dict[str, str] = field(default_factory=dict)

    @property
    def moto_url(self) -> str:
        return f"http://{HOST}:{self.moto_port}"

    def resolved(self) -> ClusterConfig:
        """The same config with concrete ports (free ones where 0 was given)."""
        from dataclasses import replace

        return replace(self, moto_port=self.moto_port or free_port(), router_port=self.router_port or free_port(),
                       state_dir=self.state_dir.resolve())

    @property
    def router_url(self) -> str:
        return f"http://{HOST}:{self.router_port}"

    def nodes(self) -> list[NodeSpec]:
        count = self.writers + (1 if self.shared_master else 0)
        ports = ([self.node_base_port + i for i in range(count)] if self.node_base_port
                 else [free_port() for _ in range(count)])
        specs = [NodeSpec(f"local-writer-{i + 1}", "writer", self.writer_tier, ports[i]) for i in range(self.writers)]
        if self.shared_master:
            specs.append(NodeSpec("local-shared-master", "shared_master", self.shared_tier, ports[-1]))
        return specs
