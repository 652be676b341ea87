"""Every node API endpoint, once: its route, body, answer model and retry safety.

`GraphClient` (sync) and `AsyncGraphClient` both inherit these; see client/calls.py for how one
definition becomes a blocking method on one and a coroutine method on the other.
"""

from __future__ import annotations

from typing import Any

from client.base import ClientBase
from client.calls import NDJSON, SSE, Call, endpoint, no_body, parse_list, parse_model, rows_endpoint
from client.models import (
    AppliedSchema,
    BackupList,
    CreatedDatabase,
    CreatedTable,
    DatabaseInfo,
    DatabaseList,
    DatabaseMetrics,
    DatabasesStatus,
    DeletedDatabase,
    DeletedTable,
    GraphSchema,
    IngestResult,
    Liveness,
    NodeInfo,
    NodeStatus,
    QueryResult,
    StagingQueryResult,
    StagingTable,
    Task,
    TaskAccepted,
    TaskErrors,
    TaskList,
)
from client.resilience import is_read_only
from node_api.models.values import encode_value

# Seconds the client waits beyond a query's own timeout: the node answers 408 itself at the limit.
_QUERY_TIMEOUT_MARGIN_S = 10.0


def _credentials(s3_credentials: dict[str, str] | None) -> dict[str, Any]:
    return {"s3_credentials": s3_credentials} if s3_credentials else {}


def _read_timeout(timeout: float | None) -> float | None:
    return timeout + _QUERY_TIMEOUT_MARGIN_S if timeout is not None else None


class GraphApi(ClientBase):
    # --- health and node information ---------------------------------------------------------------
    @endpoint("GET", "/status")
    def health(self) -> Call[NodeStatus]:
        """Readiness. A node that cannot take work answers 503 with the same body (status, reasons)."""
        return Call(parse_model(NodeStatus), answer_statuses=frozenset({503}))

    @endpoint("GET", "/status/live")
    def live(self) -> Call[Liveness]:
        return Call(parse_model(Liveness))

    @endpoint("GET", "/status/databases")
    def databases_status(self) -> Call[DatabasesStatus]:
        return Call(parse_model(DatabasesStatus))

    @endpoint("GET", "/info")
    def info(self) -> Call[NodeInfo]:
        return Call(parse_model(NodeInfo))

    # --- databases -----------------------------------------------------------------------------------
    @endpoint("POST", "/databases")
    def create_database(
        self, graph_id: str, schema_type: str = "entity", custom_ddl: str | None = None, *,
        retry_writes: bool = False,
    ) -> Call[CreatedDatabase]:
        body: dict[str, Any] = {"graph_id": graph_id, "schema_type": schema_type}
        if custom_ddl is not None:
            body["custom_ddl"] = custom_ddl
        return Call(parse_model(CreatedDatabase), json=body, idempotent=False, retry_writes=retry_writes)

    @endpoint("GET", "/databases")
    def list_databases(self) -> Call[DatabaseList]:
        return Call(parse_model(DatabaseList))

    @endpoint("GET", "/databases/{graph_id}")
    def get_database(self, graph_id: str) -> Call[DatabaseInfo]:
        return Call(parse_model(DatabaseInfo), path_params={"graph_id": graph_id})

    @endpoint("DELETE", "/databases/{graph_id}")
    def delete_database(self, graph_id: str) -> Call[DeletedDatabase]:
        # Repeating a delete leaves the same state, so it is retried (a repeat after success is a 404).
        return Call(parse_model(DeletedDatabase), path_params={"graph_id": graph_id})

    # --- Cypher --------------------------------------------------------------------------------------
    @endpoint("POST", "/databases/{graph_id}/query")
    def query(
        self, graph_id: str, cypher: str, parameters: dict[str, Any] | None = None,
        timeout: float | None = None, *, retry_writes: bool = False,
    ) -> Call[QueryResult]:
        """Run Cypher and return all rows. Retried only when the statement reads (or if asked)."""
        return Call(
            parse_model(QueryResult), path_params={"graph_id": graph_id},
            json=_query_body(cypher, parameters, timeout), idempotent=is_read_only(cypher),
            retry_writes=retry_writes, read_timeout_s=_read_timeout(timeout),
        )

    @rows_endpoint("POST", "/databases/{graph_id}/query")
    def query_stream(
        self, graph_id: str, cypher: str, parameters: dict[str, Any] | None = None,
        timeout: float | None = None, *, retry_writes: bool = False,
    ) -> Call[None]:
        """Rows as the node sends them (NDJSON). Only the request's opening is ever retried."""
        return Call(
            no_body, path_params={"graph_id": graph_id}, json=_query_body(cypher, parameters, timeout),
            accept=NDJSON, streamed=True, idempotent=is_read_only(cypher), retry_writes=retry_writes,
            read_timeout_s=_read_timeout(timeout),
        )

    # --- staging tables ------------------------------------------------------------------------------
    @endpoint("POST", "/databases/{graph_id}/tables")
    def create_table(
        self, graph_id: str, table_name: str, s3_pattern: str, s3_credentials: dict[str, str] | None = None,
    ) -> Call[CreatedTable]:
        """Stage Parquet files (s3://, or file:// under the node's dev root). Creates or replaces the
        table, so a repeat leaves the same table: retried like a read."""
        body = {"table_name": table_name, "s3_pattern": s3_pattern, **_credentials(s3_credentials)}
        return Call(parse_model(CreatedTable), path_params={"graph_id": graph_id}, json=body)

    @endpoint("GET", "/databases/{graph_id}/tables")
    def list_tables(self, graph_id: str) -> Call[list[StagingTable]]:
        return Call(parse_list(StagingTable), path_params={"graph_id": graph_id})

    @endpoint("GET", "/databases/{graph_id}/tables/{table_name}")
    def get_table(self, graph_id: str, table_name: str) -> Call[StagingTable]:
        return Call(parse_model(StagingTable), path_params={"graph_id": graph_id, "table_name": table_name})

    @endpoint("DELETE", "/databases/{graph_id}/tables/{table_name}")
    def delete_table(self, graph_id: str, table_name: str) -> Call[DeletedTable]:
        return Call(parse_model(DeletedTable), path_params={"graph_id": graph_id, "table_name": table_name})

    @endpoint("POST", "/databases/{graph_id}/tables/query")
    def query_tables(self, graph_id: str, sql: str, timeout: float | None = None) -> Call[StagingQueryResult]:
        """Read-only SQL over the graph's staging tables (the node refuses anything else)."""
        return Call(parse_model(StagingQueryResult), path_params={"graph_id": graph_id},
                    json=_sql_body(sql, timeout), read_timeout_s=_read_timeout(timeout))

    @rows_endpoint("POST", "/databases/{graph_id}/tables/query")
    def query_tables_stream(self, graph_id: str, sql: str, timeout: float | None = None) -> Call[None]:
        return Call(no_body, path_params={"graph_id": graph_id}, json=_sql_body(sql, timeout),
                    accept=NDJSON, streamed=True, read_timeout_s=_read_timeout(timeout))

    # --- ingestion -----------------------------------------------------------------------------------
    @endpoint("POST", "/databases/{graph_id}/tables/{table_name}/ingest")
    def ingest_table(
        self, graph_id: str, table_name: str, *, ignore_errors: bool = False, rebuild: bool = False,
        retry_writes: bool = False, timeout: float | None = None,
    ) -> Call[IngestResult]:
        """Load a staging table into the graph and wait for the counts (see start_ingest to not wait)."""
        body = {"ignore_errors": ignore_errors, "rebuild": rebuild, "wait": True}
        return Call(parse_model(IngestResult), path_params={"graph_id": graph_id, "table_name": table_name},
                    json=body, idempotent=False, retry_writes=retry_writes, read_timeout_s=timeout)

    @endpoint("POST", "/databases/{graph_id}/tables/{table_name}/ingest")
    def start_ingest(
        self, graph_id: str, table_name: str, *, ignore_errors: bool = False, rebuild: bool = False,
        retry_writes: bool = False,
    ) -> Call[TaskAccepted]:
        """Queue the load and return its task at once (follow it with monitor_task / wait_task)."""
        body = {"ignore_errors": ignore_errors, "rebuild": rebuild, "wait": False}
        return Call(parse_model(TaskAccepted), path_params={"graph_id": graph_id, "table_name": table_name},
                    json=body, idempotent=False, retry_writes=retry_writes)

    @endpoint("POST", "/databases/{graph_id}/copy")
    def copy_from_s3(
        self, graph_id: str, s3_pattern: str, table_name: str, *, ignore_errors: bool = False,
        s3_credentials: dict[str, str] | None = None, retry_writes: bool = False,
    ) -> Call[TaskAccepted]:
        """Parquet straight from S3 into a graph table, as a background task."""
        body = {"s3_pattern": s3_pattern, "table_name": table_name, "ignore_errors": ignore_errors,
                **_credentials(s3_credentials)}
        return Call(parse_model(TaskAccepted), path_params={"graph_id": graph_id}, json=body,
                    idempotent=False, retry_writes=retry_writes)

    # --- schema --------------------------------------------------------------------------------------
    @endpoint("GET", "/databases/{graph_id}/schema")
    def get_schema(self, graph_id: str) -> Call[GraphSchema]:
        return Call(parse_model(GraphSchema), path_params={"graph_id": graph_id})

    @endpoint("POST", "/databases/{graph_id}/schema")
    def apply_schema(self, graph_id: str, ddl: str, *, retry_writes: bool = False) -> Call[AppliedSchema]:
        """Apply DDL statements (';'-separated) in one transaction: all or nothing."""
        return Call(parse_model(AppliedSchema), path_params={"graph_id": graph_id}, json={"ddl": ddl},
                    idempotent=False, retry_writes=retry_writes)

    # --- backup and restore ----------------------------------------------------------------------------
    @endpoint("POST", "/databases/{graph_id}/backup")
    def backup_database(self, graph_id: str, destination: str = "local", *,
                        retry_writes: bool = False) -> Call[TaskAccepted]:
        """Start a backup (`local` or `s3`, as the node is configured); follow the returned task."""
        return Call(parse_model(TaskAccepted), path_params={"graph_id": graph_id},
                    json={"destination": destination}, idempotent=False, retry_writes=retry_writes)

    @endpoint("GET", "/databases/{graph_id}/backups")
    def list_backups(self, graph_id: str) -> Call[BackupList]:
        return Call(parse_model(BackupList), path_params={"graph_id": graph_id})

    @endpoint("POST", "/databases/{graph_id}/restore")
    def restore_database(self, graph_id: str, location: str, target_graph_id: str | None = None, *,
                         retry_writes: bool = False) -> Call[TaskAccepted]:
        """Restore a backup (a `location` from list_backups) into the graph, or into a new one."""
        body: dict[str, Any] = {"location": location}
        if target_graph_id is not None:
            body["target_graph_id"] = target_graph_id
        return Call(parse_model(TaskAccepted), path_params={"graph_id": graph_id}, json=body,
                    idempotent=False, retry_writes=retry_writes)

    # --- metrics ---------------------------------------------------------------------------------------
    @endpoint("GET", "/metrics")
    def metrics(self) -> Call[str]:
        """The node's Prometheus exposition text."""
        return Call(lambda response: response.text, accept="text/plain")

    @endpoint("GET", "/databases/{graph_id}/metrics")
    def database_metrics(self, graph_id: str) -> Call[DatabaseMetrics]:
        return Call(parse_model(DatabaseMetrics), path_params={"graph_id": graph_id})

    # --- tasks ---------------------------------------------------------------------------------------
    @endpoint("GET", "/tasks/{task_id}/status")
    def get_task(self, task_id: str) -> Call[Task]:
        return Call(parse_model(Task), path_params={"task_id": task_id})

    @endpoint("GET", "/tasks")
    def list_tasks(self, graph_id: str | None = None, kind: str | None = None, limit: int = 100) -> Call[TaskList]:
        params = {k: v for k, v in {"graph_id": graph_id, "kind": kind, "limit": limit}.items() if v is not None}
        return Call(parse_model(TaskList), params=params)

    @endpoint("GET", "/tasks/{task_id}/errors")
    def task_errors(self, task_id: str, page: int = 1, per_page: int = 100) -> Call[TaskErrors]:
        """A page of the task's error records (Neptune loader style: pages from 1)."""
        return Call(parse_model(TaskErrors), path_params={"task_id": task_id},
                    params={"page": page, "per_page": per_page})

    def _monitor_call(self, task_id: str, read_timeout_s: float | None = None) -> Call[None]:
        """GET /tasks/{task_id}/monitor (SSE); followed by monitor_task / wait_task of each client."""
        return Call(no_body, path_params={"task_id": task_id}, accept=SSE, streamed=True,
                    read_timeout_s=read_timeout_s, method="GET", path=MONITOR_PATH)


MONITOR_PATH = "/tasks/{task_id}/monitor"


def _query_body(cypher: str, parameters: dict[str, Any] | None, timeout: float | None) -> dict[str, Any]:
    # Python values -> their wire form (node_api/models/values.py): ints past 2**53, datetimes, Decimal...
    body: dict[str, Any] = {"cypher": cypher,
                            "parameters": {k: encode_value(v) for k, v in (parameters or {}).items()}}
    if timeout is not None:
        body["timeout"] = timeout
    return body


def _sql_body(sql: str, timeout: float | None) -> dict[str, Any]:
    return {"sql": sql, **({"timeout": timeout} if timeout is not None else {})}
