"""Body of GET /databases/{graph_id}/metrics."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class DatabaseMetricsResponse(BaseModel):
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
