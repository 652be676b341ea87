"""Settings of the node's task registry (core/tasks.py): a section of the node's settings tree."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TaskSettings(BaseSettings):
    """The registry's bounds, from the environment (names kept from when only ingestion had tasks)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    # Waiting tasks per serial key beyond the running one; more -> 503 + Retry-After.
    queue_bound: int = Field(4, ge=0, validation_alias="GRAPH_API_INGEST_QUEUE_BOUND")
    retry_after_s: int = Field(5, ge=1, validation_alias="GRAPH_API_INGEST_RETRY_AFTER")
    # Finished tasks kept on disk (newest first) across restarts.
    retention: int = Field(1000, ge=10, validation_alias="GRAPH_API_TASK_RETENTION")
    # On shutdown, running tasks get this long to finish before they are cancelled (recorded
    # failed/cancelled); an engine call already running in a worker thread cannot be cut short.
    shutdown_grace_s: float = Field(5.0, ge=0, validation_alias="GRAPH_API_TASK_SHUTDOWN_GRACE")
