"""Settings of the staging and ingestion path, read from the environment.

Kept apart from node_api/settings.py (the node's own settings): only the data path reads these.
AWS names are the standard ones, so real S3 works unchanged once the endpoint is left unset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from node_api.core.aws_settings import DEFAULT_REGION, AwsRegion, S3EndpointUrl


class StagingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    # S3. endpoint_url unset = AWS itself (virtual-host style, TLS).
    s3_endpoint_url: S3EndpointUrl = None
    s3_region: AwsRegion = DEFAULT_REGION
    aws_access_key_id: SecretStr = Field(SecretStr(""), validation_alias="AWS_ACCESS_KEY_ID")
    aws_secret_access_key: SecretStr = Field(SecretStr(""), validation_alias="AWS_SECRET_ACCESS_KEY")
    aws_session_token: SecretStr = Field(SecretStr(""), validation_alias="AWS_SESSION_TOKEN")
    # Buckets (or "bucket/prefix/") tenants may stage from with the node's own credentials;
    # empty = any. Requests that bring their own s3_credentials are not limited by it.
    allowed_s3_prefixes: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="GRAPH_API_STAGING_S3_PREFIXES"
    )

    # file:// and plain local paths are refused unless this is set (development only).
    local_root: Path | None = Field(None, validation_alias="GRAPH_API_STAGING_LOCAL_ROOT")

    # DuckDB resources per graph's staging database.
    duckdb_memory_limit: str = Field("1GB", validation_alias="GRAPH_API_STAGING_MEMORY_LIMIT")
    duckdb_threads: int = Field(2, ge=1, validation_alias="GRAPH_API_STAGING_THREADS")
    # Reading S3 is I/O-bound: httpfs issues requests per DuckDB thread, so the reader gets more
    # threads than cores (measured: 4 threads read 1M rows from S3 twice as fast as 2 on 2 cores).
    reader_threads: int = Field(4, ge=1, validation_alias="GRAPH_API_STAGING_READER_THREADS")
    read_pool_size: int = Field(4, ge=1, validation_alias="GRAPH_API_STAGING_READ_POOL")
    query_timeout_s: float = Field(30.0, gt=0, validation_alias="GRAPH_API_STAGING_QUERY_TIMEOUT")
    max_result_rows: int = Field(10_000, ge=1, validation_alias="GRAPH_API_STAGING_MAX_ROWS")
    max_sql_length: int = Field(10_000, ge=16, validation_alias="GRAPH_API_STAGING_MAX_SQL_LENGTH")

    # The task queue's bounds (GRAPH_API_INGEST_QUEUE_BOUND...) are core.task_settings.TaskSettings.
    # Rows per Arrow batch when staging: also the step of the task's row count (3M rows from a local
    # file staged as fast with 250k as with 1M, measured side by side).
    arrow_batch_rows: int = Field(250_000, ge=1024, validation_alias="GRAPH_API_INGEST_BATCH_ROWS")

    @field_validator("s3_endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("AWS_ENDPOINT_URL must be http(s)://host[:port]")
        return value.rstrip("/")

    @field_validator("allowed_s3_prefixes", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [p.strip() for p in value.split(",") if p.strip()]
        return value
