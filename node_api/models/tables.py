"""Request and response bodies of staging tables, ingestion and S3 bulk copy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from node_api.security.paths import IDENTIFIER_PATTERN


class S3CredentialsModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aws_access_key_id: str = Field(min_length=1, max_length=256)
    aws_secret_access_key: SecretStr = Field(min_length=1, max_length=512)
    aws_session_token: SecretStr | None = Field(None, max_length=4096)
    region: str | None = Field(None, pattern=r"^[a-z0-9-]{2,32}$")


class CreateTableRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    table_name: str = Field(pattern=IDENTIFIER_PATTERN, examples=["Entity"])
    s3_pattern: str = Field(min_length=6, max_length=1024, examples=["s3://bucket/path/*.parquet"])
    s3_credentials: S3CredentialsModel | None = Field(
        None, description="Read with these instead of the node's credentials (never stored)."
    )
    wait: bool = Field(
        True, description="Answer when staged (200), or at once with the task (202) to follow its progress."
    )


class StagedFileModel(BaseModel):
    """One Parquet file of a staging table, as its footer declares it."""

    path: str
    rows: int
    bytes: int = Field(description="The file's size in storage.")


class LoadFileModel(StagedFileModel):
    """One file of a load. parse_errors/duplicates: rows of this file skipped with ignore_errors
    (S3 copies only: a staging table does not keep which file a row came from)."""

    parse_errors: int | None = None
    duplicates: int | None = None


class CreateTableResponse(BaseModel):
    status: str = "success"
    graph_id: str
    table_name: str
    row_count: int
    size_bytes: int
    s3_location: str
    files: list[StagedFileModel] = Field(default_factory=list, description="Per file, in path order.")
    task_id: str
    execution_time_ms: float


class StagingTableModel(BaseModel):
    graph_id: str
    table_name: str
    row_count: int
    size_bytes: int = Field(description="Arrow (uncompressed) bytes of the staged rows.")
    s3_location: str
    columns: list[dict[str, str]]
    created_at: datetime
    file_count: int
    files: list[StagedFileModel] | None = Field(
        None, description="Per file, in path order (GET of one table; omitted from listings)."
    )


class DeleteTableResponse(BaseModel):
    status: str = "success"
    message: str


class StagingQueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sql: str = Field(min_length=1, examples=["SELECT * FROM Entity WHERE status = 'active' LIMIT 10"])
    timeout: float | None = Field(None, gt=0, le=300, description="Seconds; defaults to the node's setting.")


class StagingQueryResponse(BaseModel):
    graph_id: str
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool = Field(description="True when the result had more rows than the node returns.")
    execution_time_ms: float


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ignore_errors: bool = Field(False, description="Skip rows the graph refuses, and count them.")
    rebuild: bool = Field(
        False,
        description="Regenerate the whole graph database from all staging tables (swapped in when complete).",
    )
    wait: bool = Field(True, description="Answer when done (200), or at once with the task (202).")


class CopyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    s3_pattern: str = Field(min_length=6, max_length=1024, examples=["s3://bucket/path/*.parquet"])
    table_name: str = Field(pattern=IDENTIFIER_PATTERN, examples=["Entity"])
    ignore_errors: bool = False
    s3_credentials: S3CredentialsModel | None = None


class TaskAccepted(BaseModel):
    task_id: str
    status: str
    graph_id: str | None
    kind: str
    status_url: str
    monitor_url: str


class TableLoadResult(BaseModel):
    """Counts of one table's load; rows_received == rows_ingested + duplicates + parse_errors + insert_errors."""

    table_name: str
    table_kind: str
    rows_received: int
    rows_ingested: int
    rows_skipped: int
    duplicates: int = Field(description="Node rows whose primary key repeats in the data (first one loaded).")
    parse_errors: int = Field(description="Rows with a value that does not convert to the column's type.")
    insert_errors: int = Field(description="Rows the graph refused (key exists, null key, missing node).")
    warnings: list[str] = Field(default_factory=list, description="The engine's messages, first 100.")
    files: list[LoadFileModel] = Field(default_factory=list)


class IngestResponse(BaseModel):
    status: str = "success"
    graph_id: str
    task_id: str
    rebuild: bool
    execution_time_ms: float
    # One table (rebuild=false) ...
    table_name: str | None = None
    table_kind: str | None = None
    rows_received: int
    rows_ingested: int
    rows_skipped: int
    duplicates: int | None = None
    parse_errors: int | None = None
    insert_errors: int | None = None
    warnings: list[str] = Field(default_factory=list)
    files: list[LoadFileModel] | None = None
    # ... or every table (rebuild=true).
    tables: list[TableLoadResult] | None = None
    graph_tables_left_empty: list[str] | None = None
    staging_tables_not_in_graph: list[str] | None = None
