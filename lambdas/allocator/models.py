"""Events and results of the allocator/router Lambda."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.enums import NodeType, RepositoryType
from contracts.registry import GraphId, Tier


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AllocateEvent(_Event):
    action: Literal["allocate"]
    graph_id: GraphId
    entity_id: str = Field(min_length=1, max_length=128)
    tier: Tier = "standard"
    repository_type: RepositoryType = RepositoryType.ENTITY


class ReleaseEvent(_Event):
    action: Literal["release"]
    graph_id: GraphId


class RouteEvent(_Event):
    action: Literal["route"]
    graph_id: GraphId


AllocatorEvent = Annotated[AllocateEvent | ReleaseEvent | RouteEvent, Field(discriminator="action")]


def node_type_for(repository_type: RepositoryType | str) -> NodeType:
    """Entity graphs live on writers; shared repositories on the shared master."""
    return NodeType.SHARED_MASTER if repository_type == RepositoryType.SHARED else NodeType.WRITER


class Route(BaseModel):
    graph_id: str
    instance_id: str
    endpoint: str
    cluster_tier: str
    node_type: str
    status: str


class TierUsage(BaseModel):
    tier: str
    node_type: str
    healthy_instances: int
    initializing_instances: int
    used: int
    capacity: int

    @property
    def utilization(self) -> float:
        return self.used / self.capacity if self.capacity else 1.0


class ScaleOutSignal(BaseModel):
    tier: str
    reason: str
    utilization: float
    message_id: str | None = None
    asg_name: str | None = None
    desired_capacity: int | None = None  # the new desired capacity, when it was raised


class Allocation(BaseModel):
    route: Route
    created: bool  # False when the same allocation was already recorded (a retried event)
    scale_out: ScaleOutSignal | None = None


class Release(BaseModel):
    graph_id: str
    instance_id: str
