"""Response bodies as the clients return them.

Mirrors of the node's OpenAPI schemas (tests/client/test_contract.py checks them against it). Extra
fields are kept, so a newer node never breaks an older client.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- databases ------------------------------------------------------------------------------------
class DatabaseInfo(_Body):
    graph_id: str
    schema_type: str
    created_at: datetime
    is_open: bool
    size_bytes: int | None = None
    last_used_at: datetime | None = None


class CreatedDatabase(_Body):
    status: str
    graph_id: str
    schema_type: str
    created_at: datetime
    execution_time_ms: float


class DatabaseList(_Body):
    databases: list[DatabaseInfo]
    total: int
    max_databases: int


class DeletedDatabase(_Body):
    status: str
    graph_id: str
    message: str


# --- queries --------------------------------------------------------------------------------------
class QueryResult(_Body):
    graph_id: str
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    execution_time_ms: float

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=False)) for row in self.rows]


class StagingQueryResult(QueryResult):
    truncated: bool = False


class StreamSummary(_Body):
    row_count: int
    execution_time_ms: float
    complete: bool = True


# --- health and node information ------------------------------------------------------------------
class NodeStatus(_Body):
    status: str  # healthy | overloaded | unhealthy
    node_type: str
    tier: str
    backend: str
    databases: int
    max_databases: int
    memory_usage_mb: float
    uptime_seconds: float
    reasons: list[str] = []

    @property
    def ready(self) -> bool:
        return self.status == "healthy"


class Liveness(_Body):
    status: str


class DatabaseStatus(_Body):
    graph_id: str
    schema_type: str
    is_open: bool
    active_connections: int
    waiting_requests: int
    last_used_at: str | None = None


class DatabasesStatus(_Body):
    databases: list[DatabaseStatus]
    open_databases: int
    total: int


class NodeInfo(_Body):
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


# --- staging tables, ingestion, copy --------------------------------------------------------------
class StagingTable(_Body):
    graph_id: str
    table_name: str
    row_count: int
    size_bytes: int
    s3_location: str
    columns: list[dict[str, str]]
    created_at: datetime


class CreatedTable(_Body):
    status: str
    graph_id: str
    table_name: str
    row_count: int
    size_bytes: int
    s3_location: str
    task_id: str
    execution_time_ms: float


class DeletedTable(_Body):
    status: str
    message: str


class IngestResult(_Body):
    """Neptune-loader-style counts: rows_received == rows_ingested + duplicates + parse/insert errors."""

    status: str
    graph_id: str
    table_name: str | None = None
    rows_received: int | None = None
    rows_ingested: int | None = None
    rows_skipped: int | None = None
    duplicates: int | None = None
    parse_errors: int | None = None
    insert_errors: int | None = None
    warnings: list[str] = []
    execution_time_ms: float | None = None
    task_id: str | None = None


class TaskAccepted(_Body):
    task_id: str
    status: str
    graph_id: str | None
    kind: str
    status_url: str
    monitor_url: str


# --- tasks ----------------------------------------------------------------------------------------
class Task(_Body):
    task_id: str
    kind: str
    graph_id: str | None
    status: str  # queued | running | succeeded | failed
    progress: float  # 0-100
    rows_done: int
    message: str | None
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def done(self) -> bool:
        return self.status in ("succeeded", "failed")


class TaskList(_Body):
    tasks: list[Task]
    total: int


# --- schema -----------------------------------------------------------------------------------------
class SchemaProperty(_Body):
    name: str
    type: str
    primary_key: bool = False


class SchemaTable(_Body):
    name: str
    kind: str  # node | rel
    properties: list[SchemaProperty]
    from_tables: list[str] = []
    to_tables: list[str] = []
    comment: str | None = None


class GraphSchema(_Body):
    graph_id: str
    node_tables: list[SchemaTable]
    rel_tables: list[SchemaTable]
    indexes: list[dict[str, Any]]


class AppliedSchema(GraphSchema):
    status: str
    statements_applied: int
    execution_time_ms: float


# --- backups and metrics ----------------------------------------------------------------------------
class Backup(_Body):
    backup_id: str
    location: str
    destination: str
    graph_id: str
    created_at: str
    engine: str
    engine_version: str
    schema_type: str | None = None
    size_bytes: int
    raw_bytes: int
    sha256: str
    node_count: int | None = None
    rel_count: int | None = None
    row_counts: dict[str, dict[str, int]] = {}


class BackupList(_Body):
    graph_id: str
    backups: list[Backup]
    total: int


class DatabaseMetrics(_Body):
    graph_id: str
    schema_type: str
    created_at: datetime
    size_bytes: int
    node_count: int
    rel_count: int
    last_write_at: datetime | None
    is_open: bool
    active_connections: int
    waiting_requests: int
    last_backup_at: str | None = None
    backups: int = 0
