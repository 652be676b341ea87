"""Response bodies as the clients return them.

The node's own wire models (node_api/models, which import nothing of the engines) declare the fields;
the client's classes only make them tolerant: extra fields are kept, so a newer node never breaks an
older client, and nested bodies are the client's tolerant classes too. tests/client/test_contract.py
checks them against the node's OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from node_api.models import backup, databases, metrics, query, schema, status, tables, tasks
from node_api.models.values import decode_value


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


# Each class below names the node's model first and _Body last, so extra="allow" wins the merged config.
# --- databases ------------------------------------------------------------------------------------
class DatabaseInfo(databases.DatabaseInfoModel, _Body):
    pass


class CreatedDatabase(databases.CreateDatabaseResponse, _Body):
    pass


class DatabaseList(databases.DatabaseListResponse, _Body):
    databases: list[DatabaseInfo]


class DeletedDatabase(databases.DeleteDatabaseResponse, _Body):
    pass


# --- queries --------------------------------------------------------------------------------------
class QueryResult(query.QueryResponse, _Body):
    """Rows hold Python values (node_api/models/values.py): typed values are decoded, so a value can be
    passed back as a parameter as it is."""

    @field_validator("rows")
    @classmethod
    def _decode_rows(cls, rows: list[list[Any]]) -> list[list[Any]]:
        return decode_rows(rows)

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=False)) for row in self.rows]


class StagingQueryResult(QueryResult):
    truncated: bool = False


def decode_rows(rows: list[list[Any]]) -> list[list[Any]]:
    """Wire rows -> Python rows. Lenient: a `$type` this client does not know stays a raw object."""
    return [[decode_value(v, strict=False) if isinstance(v, (dict, list)) else v for v in row] for row in rows]


class StreamSummary(_Body):
    row_count: int
    execution_time_ms: float
    complete: bool = True


# --- health and node information ------------------------------------------------------------------
class NodeStatus(status.StatusResponse, _Body):
    @property
    def ready(self) -> bool:
        return self.status == "healthy"


class Liveness(_Body):
    status: str


class DatabaseStatus(status.DatabaseStatus, _Body):
    pass


class DatabasesStatus(status.DatabasesStatusResponse, _Body):
    databases: list[DatabaseStatus]


class NodeInfo(status.InfoResponse, _Body):
    pass


# --- staging tables, ingestion, copy --------------------------------------------------------------
class StagingTable(tables.StagingTableModel, _Body):
    pass


class CreatedTable(tables.CreateTableResponse, _Body):
    pass


class DeletedTable(tables.DeleteTableResponse, _Body):
    pass


class IngestResult(_Body):
    """Neptune-loader-style counts: rows_received == rows_ingested + duplicates + parse/insert errors.

    Looser than the node's IngestResponse on purpose: every count may be missing.
    """

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


class TaskAccepted(tables.TaskAccepted, _Body):
    pass


# --- tasks ----------------------------------------------------------------------------------------
class Task(tasks.TaskModel, _Body):
    @property
    def done(self) -> bool:
        return self.status in ("succeeded", "failed")


class TaskList(tasks.TaskListResponse, _Body):
    tasks: list[Task]


class TaskErrors(tasks.TaskErrorsResponse, _Body):
    """One page of a task's error records (skipped rows, refused files: file, row, column, value)."""


# --- schema -----------------------------------------------------------------------------------------
class SchemaProperty(schema.PropertyModel, _Body):
    pass


class SchemaTable(schema.TableModel, _Body):
    properties: list[SchemaProperty]


class GraphSchema(schema.SchemaResponse, _Body):
    node_tables: list[SchemaTable]
    rel_tables: list[SchemaTable]


class AppliedSchema(GraphSchema, schema.ApplyDdlResponse):  # GraphSchema first: its nested classes win
    pass


# --- backups and metrics ----------------------------------------------------------------------------
class Backup(backup.BackupSummary, _Body):
    pass


class BackupList(backup.BackupListResponse, _Body):
    backups: list[Backup]


class DatabaseMetrics(metrics.DatabaseMetricsResponse, _Body):
    pass
