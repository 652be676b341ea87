from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field


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
    worker_pid: int | None = None  # the engine worker serving it while open (embedded engines)
    worker_memory_mb: float | None = None


class DatabasesStatusResponse(BaseModel):
    databases: Sequence[DatabaseStatus]  # Sequence: client/models.py narrows the item class
    open_databases: int
    total: int


class EngineWorkersInfo(BaseModel):
    """Embedded engines run one worker process per open database (docs/architecture.md)."""

    running: int
    memory_enforcement: str  # "cgroup" (the kernel's memory.max) or "sampling" (the node's supervisor)
    # Workers' file confinement: "landlock abi N", "unavailable" (no second wall), or "unknown" until a
    # worker has opened a database (a worker confines itself then, to that database's directory).
    sandbox: str
    exits: dict[str, int]  # how workers ended since start: crashed, memory, node_memory, timeout, ...


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
    disk_free_bytes: int = Field(description="free space on the base path's volume (statvfs)")
    min_free_disk_mb: int = Field(description="below this, writes answer 507 insufficient_storage (0: off)")
    memory_usage_mb: float
    memory_limit_mb: int
    memory_per_db_mb: int
    uptime_seconds: float
    limits: dict[str, float | int]
    engine_workers: EngineWorkersInfo | None = None
    extensions: list[str] = Field(default_factory=list, description=(
        "Engine extensions tenants' statements may use: Kuzu's statically linked ones, or the files an "
        "operator placed in LADYBUG_EXTENSION_DIR that LadybugDB loaded. A statement needing another "
        "reviewed extension answers 400 not_supported naming it."))

