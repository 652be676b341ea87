"""Enumerations shared by the registry rows, the node settings, the tier matrix and the router API."""

from __future__ import annotations

from enum import StrEnum


class NodeType(StrEnum):
    """What a node hosts: tenant (entity) graphs, or the shared repositories."""

    WRITER = "writer"
    SHARED_MASTER = "shared_master"


# Read replicas of the shared repositories register with this node type (none do yet: until then
# shared reads go to the master). Kept apart from NodeType: no tier of nodes runs it.
SHARED_REPLICA = "shared_replica"


class InstanceStatus(StrEnum):
    INITIALIZING = "initializing"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    STOPPED = "stopped"  # deregistered by its node while still holding graphs
    # Declared dead by the instance monitor (silent past DEAD_AFTER_SECONDS, or terminated): its graphs
    # are orphaned until a node in the same zone adopts its data volume. A dead row never comes back.
    DEAD = "dead"


class GraphStatus(StrEnum):
    ACTIVE = "active"
    UNAVAILABLE = "unavailable"  # its instance is unhealthy; comes back when the instance does
    ORPHANED = "orphaned"  # its instance is dead; the data is on the volume the next adopter claims


class RepositoryType(StrEnum):
    ENTITY = "entity"
    SHARED = "shared"


class VolumeStatus(StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    ATTACHED = "attached"
    EXPANDING = "expanding"
    SUPERSEDED = "superseded"  # replaced by a volume restored from a snapshot
