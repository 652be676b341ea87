"""The router API's wire models (`lambdas/router_api` serves them, `client.routing` reads them).

    GET    /health                 -> RouterHealth
    GET    /graphs/{graph_id}      -> GraphRoute
    POST   /graphs                 AllocateGraph -> GraphRoute (201 created, 200 already placed)
    DELETE /graphs/{graph_id}      -> ReleasedGraph
    GET    /instances              -> InstanceList

Errors use the node API's body: {"error": {"code", "message", "details"}, "request_id"} (ErrorBody).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.enums import GraphStatus, InstanceStatus, RepositoryType
from contracts.registry import GraphId, Tier

# Error codes of the router API (the `code` of its error body) and their HTTP statuses.
ROUTER_ERROR_STATUS: dict[str, int] = {
    "validation_error": 422,
    "unauthenticated": 401,
    "forbidden": 403,
    "graph_not_found": 404,
    "not_found": 404,
    "conflict": 409,
    "no_capacity": 503,
    "unavailable": 503,
    "registry_unavailable": 503,
    "internal_error": 500,
}


class _Model(BaseModel):
    # Answers may gain fields: old clients keep working (extra fields are ignored on read).
    model_config = ConfigDict(extra="ignore", use_enum_values=True)


class NodeEndpoint(_Model):
    instance_id: str
    url: str = Field(description="Base URL of the node API, e.g. http://10.0.1.23:8001")
    node_type: str


class GraphRoute(_Model):
    """Where a graph lives. `writer` is null while the graph is not served (its node is unhealthy,
    or dead and not yet adopted): `status` says which, and clients retry after their cache TTL."""

    graph_id: str
    status: GraphStatus
    repository_type: RepositoryType
    cluster_tier: str
    entity_id: str | None = None
    writer: NodeEndpoint | None = None
    read_replicas: list[NodeEndpoint] = Field(default_factory=list)
    instance_id: str | None = Field(None, description="The instance the registry assigns, served or not.")
    created: bool | None = Field(None, description="POST /graphs only: false when it was already placed.")

    def read_endpoint(self, choose: Any = None) -> NodeEndpoint | None:
        """A replica when there are any (picked by `choose`, e.g. random.choice), else the writer."""
        if self.read_replicas:
            return (choose or (lambda items: items[0]))(self.read_replicas)
        return self.writer


class AllocateGraph(_Model):
    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    graph_id: GraphId
    entity_id: str | None = Field(None, min_length=1, max_length=128, description="Defaults to graph_id.")
    tier: Tier | None = Field(None, description="Defaults to the router's tier for the repository type.")
    repository_type: RepositoryType = RepositoryType.ENTITY


class ReleasedGraph(_Model):
    graph_id: str
    instance_id: str


class InstanceCapacity(_Model):
    max_databases: int
    allocated: int = Field(description="Slots reserved by the allocator (database_count).")
    free: int
    reported: int | None = Field(None, description="Databases the node reports open on disk.")


class InstanceView(_Model):
    instance_id: str
    status: InstanceStatus
    node_type: str
    cluster_tier: str
    url: str
    availability_zone: str | None = None
    last_heartbeat: str
    capacity: InstanceCapacity
    graphs: list[str]


class InstanceList(_Model):
    instances: list[InstanceView]


class RouterHealth(_Model):
    status: str = "ok"
    environment: str
    registry: str = Field(description="ok, or why the registry could not be read")


class ErrorDetail(_Model):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorBody(_Model):
    error: ErrorDetail
    request_id: str | None = None
