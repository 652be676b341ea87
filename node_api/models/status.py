from __future__ import annotations

from pydantic import BaseModel


class StatusResponse(BaseModel):
    status: str  # healthy | overloaded | unhealthy
    node_type: str
    tier: str
    backend: str
    databases: int
    max_databases: int
    memory_usage_mb: float
    uptime_seconds: float
    reasons: list[str] = []


class DatabaseStatus(BaseModel):
    graph_id: str
    schema_type: str
    is_open: bool
    active_connections: int
    waiting_requests: int
    last_used_at: str | None = None


class DatabasesStatusResponse(BaseModel):
    databases: list[DatabaseStatus]
    open_databases: int
    total: int


class InfoResponse(BaseModel):
    instance_id: str
    cluster_tier: str
    node_type: str
    environment: str
    backend: str
    engine_version: str
    max_databases: int
    database_count: int
    available_capacity: int
    open_databases: int
    active_connections: int
    idle_connections: int
    queue_depth: int
    in_flight_queries: int
    rejected_requests: int
    memory_usage_mb: float
    memory_limit_mb: int
    memory_per_db_mb: int
    uptime_seconds: float
    limits: dict[str, float | int]
