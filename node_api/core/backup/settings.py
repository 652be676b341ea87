"""Settings of backup and restore, read from the environment.

Kept apart from node_api/settings.py: only the operations module reads them. The AWS names are
the standard ones (AWS_ENDPOINT_URL points boto3 at moto in tests, at nothing in production).
"""

from __future__ import annotations

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

    @field_validator("s3_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value.strip("/")
        return f"{value}/" if value else ""
