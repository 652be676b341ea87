"""Settings of backup and restore, read from the environment.

Kept apart from node_api/settings.py: only the operations module reads them. The AWS names are
the standard ones (AWS_ENDPOINT_URL points boto3 at moto in tests, at nothing in production).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class BackupSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    # S3 destination: backups go to s3://{bucket}/{prefix}{graph_id}/. Unset = local backups only.
    s3_bucket: str | None = Field(None, validation_alias="GRAPH_API_BACKUP_S3_BUCKET")
    s3_prefix: str = Field("graph-backups/", validation_alias="GRAPH_API_BACKUP_S3_PREFIX")
    s3_endpoint_url: str | None = Field(
        None, validation_alias=AliasChoices("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
    )
    s3_region: str = Field("us-east-1", validation_alias=AliasChoices("AWS_DEFAULT_REGION", "AWS_REGION"))

    # Signing (signing.py): the cluster's key set in Secrets Manager, else a key file. With neither,
    # a node in development keeps its key in {base}/.backup-signing-key.json.
    signing_secret_id: str | None = Field(None, validation_alias="GRAPH_API_BACKUP_SIGNING_SECRET_ID")
    signing_key_file: Path | None = Field(None, validation_alias="GRAPH_API_BACKUP_SIGNING_KEY_FILE")
    signing_refresh_s: float = Field(300.0, gt=0, validation_alias="GRAPH_API_BACKUP_SIGNING_REFRESH_SECONDS")
    secrets_endpoint_url: str | None = Field(
        None, validation_alias=AliasChoices("AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL")
    )

    # Retention (retention.py), applied per graph and destination after each successful backup.
    keep_last: int | None = Field(None, ge=1, validation_alias="GRAPH_API_BACKUP_KEEP_LAST")
    max_age_days: float | None = Field(None, gt=0, validation_alias="GRAPH_API_BACKUP_MAX_AGE_DAYS")

    # zstd level 1 (the `zstd -1` of the benchmark) on one worker thread per core (0 = all cores).
    compression_level: int = Field(1, ge=1, le=19, validation_alias="GRAPH_API_BACKUP_COMPRESSION_LEVEL")
    compression_threads: int = Field(0, ge=0, validation_alias="GRAPH_API_BACKUP_COMPRESSION_THREADS")

    @field_validator("s3_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value.strip("/")
        return f"{value}/" if value else ""

    @field_validator("keep_last", "max_age_days", "signing_secret_id", "signing_key_file", mode="before")
    @classmethod
    def _unset(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def zstd_threads(self) -> int:
        """The `threads` argument of zstandard.ZstdCompressor: -1 is one per core."""
        return self.compression_threads or -1
