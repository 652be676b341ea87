"""A whole graph cluster on one machine (`scripts/cluster up|down|status`).

One control-plane process (moto's server on 127.0.0.1, with the Lambda handlers running in it) and
node processes (`python -m node_api`) that join through their own cluster membership. Nothing binds
or connects beyond loopback. Tests drive the same `LocalCluster` (tests/e2e).
"""

from cluster_local.cluster import LocalCluster
from cluster_local.config import ClusterConfig, NodeSpec

__all__ = ["ClusterConfig", "LocalCluster", "NodeSpec"]
