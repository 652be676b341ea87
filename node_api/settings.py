"""The node's settings: one tree, read from the environment (and the CLI) once, at start-up.

`NodeSettings` is the root: the node's own settings as flat fields, and one section per feature
(`staging`, `tasks`, `backup`, `cloudwatch`, `cluster`), each a settings class of its feature's
module. `create_app(settings)` receives the whole tree; no hook reads the environment later.

Names: `GRAPH_API_*` first; the spec's `KUZU_*` names stay accepted as aliases where the spec names
them (docs/configuration.md lists both). Where the node and a section describe the same thing (the
port, the node type, the instance id...), the node's value wins: the section gets it from the root.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.enums import NodeType
from node_api.cluster.settings import ClusterSettings
from node_api.core.backup.settings import BackupSettings
from node_api.core.cloudwatch_settings import CloudWatchSettings
from node_api.core.staging.settings import StagingSettings
from node_api.core.task_settings import TaskSettings

__all__ = ["BackendType", "NodeSettings", "NodeType"]


class BackendType(StrEnum):
    KUZU = "kuzu"
    LADYBUG = "ladybug"
    NEO4J_COMMUNITY = "neo4j_community"
    NEO4J_ENTERPRISE = "neo4j_enterprise"


def _env(name: str, *aliases: str) -> AliasChoices:
    """GRAPH_API_<name>, then the spec's names for the same setting."""
    return AliasChoices(f"GRAPH_API_{name}", *aliases)


class NodeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False, populate_by_name=True)

    # LadybugDB for new nodes; Kuzu stays selectable (README, "Engines"; docs/engine-migration.md).
    backend_type: BackendType = Field(BackendType.LADYBUG, validation_alias="GRAPH_BACKEND_TYPE")
    node_type: NodeType = Field(NodeType.WRITER, validation_alias=_env("NODE_TYPE", "KUZU_NODE_TYPE"))
    tier: str = Field("standard", validation_alias="WRITER_TIER")
    instance_id: str = Field("local", validation_alias=AliasChoices("INSTANCE_ID", "EC2_INSTANCE_ID"))
    environment: str = Field("dev", validation_alias="ENVIRONMENT")
    base_path: Path = Field(Path("./data/kuzu-dbs"), validation_alias=_env("DATABASE_PATH", "KUZU_DATABASE_PATH"))
    host: str = Field("127.0.0.1", validation_alias=_env("HOST", "KUZU_HOST"))
    port: int = Field(8001, ge=1, le=65535, validation_alias=_env("PORT", "KUZU_PORT"))

    # Authentication. Empty key is only accepted in development mode (and announced loudly).
    api_key: SecretStr = Field(SecretStr(""), validation_alias="GRAPH_API_KEY")
    dev_mode: bool = Field(False, validation_alias="GRAPH_API_DEV_MODE")

    # Capacity and memory.
    max_databases: int = Field(10, ge=1, validation_alias=_env("MAX_DATABASES_PER_NODE", "KUZU_MAX_DATABASES_PER_NODE"))
    max_memory_mb: int = Field(14336, ge=64, validation_alias=_env("MAX_MEMORY_MB", "KUZU_MAX_MEMORY_MB"))
    memory_per_db_mb: int = Field(2048, ge=16, validation_alias=_env("MEMORY_PER_DB_MB", "KUZU_MEMORY_PER_DB_MB"))
    # The buffer pool's share of KUZU_MEMORY_PER_DB_MB; the rest is for what the engine allocates
    # outside it (range() lists, hash tables, result collectors).
    buffer_pool_fraction: float = Field(0.75, gt=0.05, le=1.0, validation_alias="GRAPH_API_BUFFER_POOL_FRACTION")
    # A worker's own footprint beside its database's budget: the interpreter and the engine library
    # (measured ~36 MB idle after open, ~90 MB once pyarrow is loaded for a COPY).
    worker_overhead_mb: int = Field(128, ge=32, validation_alias="GRAPH_API_WORKER_OVERHEAD_MB")
    memory_sample_ms: int = Field(25, ge=5, le=1000, validation_alias="GRAPH_API_MEMORY_SAMPLE_MS")
    # Workers started ahead, engine loaded, waiting for a database: a closed database's first request
    # then skips the interpreter's start and the engine's import.
    spare_workers: int = Field(1, ge=0, le=8, validation_alias="GRAPH_API_SPARE_WORKERS")
    # Kuzu and LadybugDB reserve max_db_size of address space per open Database (default 8 TiB: the 16th
    # open database fails). Must be a power of two (docs/engine-facts.md).
    max_db_size_gb: int = Field(64, ge=1, validation_alias=_env("MAX_DB_SIZE_GB", "KUZU_MAX_DB_SIZE_GB"))
    threads_per_db: int = Field(2, ge=1, validation_alias=_env("THREADS_PER_DB", "KUZU_THREADS_PER_DB"))
    max_open_databases: int = Field(64, ge=1, validation_alias=_env("MAX_OPEN_DATABASES", "KUZU_MAX_OPEN_DATABASES"))
    idle_database_timeout_s: float = Field(300.0, gt=0, validation_alias=_env("IDLE_DATABASE_TIMEOUT", "KUZU_IDLE_DATABASE_TIMEOUT"))
    # LadybugDB extension files (lib<name>.lbug_extension) its workers load at start (docs/engine-facts.md).
    ladybug_extension_dir: Path | None = Field(None, validation_alias="LADYBUG_EXTENSION_DIR")

    # Queries.
    chunk_size: int = Field(1000, ge=1, le=100_000, validation_alias=_env("CHUNK_SIZE", "KUZU_CHUNK_SIZE"))
    query_timeout_s: float = Field(30.0, gt=0, validation_alias=_env("QUERY_TIMEOUT", "KUZU_QUERY_TIMEOUT"))
    max_query_timeout_s: float = Field(300.0, gt=0, validation_alias=_env("MAX_QUERY_TIMEOUT", "KUZU_MAX_QUERY_TIMEOUT"))
    max_query_length: int = Field(10_000, ge=16, validation_alias=_env("MAX_QUERY_LENGTH", "KUZU_MAX_QUERY_LENGTH"))
    # A query still running this long past its timeout (or past its client leaving) has its database's
    # worker killed: engines check for interrupts too rarely to rely on (Kuzu: 15.8 s for a 0.2 s timeout).
    timeout_grace_s: float = Field(3.0, gt=0, le=60, validation_alias="GRAPH_API_TIMEOUT_GRACE_S")
    # A JSON (not streamed) answer is built in the HTTP process, up to GRAPH_API_MAX_CONCURRENT_QUERIES of
    # them at once: past this size, ask for NDJSON/SSE (which relay a chunk at a time).
    max_json_result_bytes: int = Field(64 << 20, ge=1 << 20, validation_alias="GRAPH_API_MAX_JSON_RESULT_BYTES")
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024, validation_alias="GRAPH_API_MAX_BODY_BYTES")
    connection_pool_size: int = Field(10, ge=1, validation_alias=_env("CONNECTION_POOL_SIZE", "KUZU_CONNECTION_POOL_SIZE"))
    # HTTP limits uvicorn lacks (core/http_protocol.py), and its connection cap.
    header_timeout_s: float = Field(5.0, gt=0, validation_alias="GRAPH_API_HEADER_TIMEOUT")
    max_header_bytes: int = Field(64 * 1024, ge=1024, validation_alias="GRAPH_API_MAX_HEADER_BYTES")
    body_timeout_s: float = Field(10.0, gt=0, validation_alias="GRAPH_API_BODY_TIMEOUT")
    min_body_rate: int = Field(64 * 1024, ge=1024, validation_alias="GRAPH_API_MIN_BODY_RATE")
    # A streamed answer (NDJSON, SSE) whose client reads nothing for this long is ended: it would hold
    # its database's connection and its result in memory for as long as the client liked.
    stream_send_timeout_s: float = Field(30.0, gt=0, validation_alias="GRAPH_API_STREAM_SEND_TIMEOUT")
    max_connections: int = Field(2048, ge=16, validation_alias="GRAPH_API_MAX_CONNECTIONS")

    # Admission control: beyond these, answer 503 + Retry-After at once.
    max_concurrent_queries: int = Field(16, ge=1, validation_alias="GRAPH_API_MAX_CONCURRENT_QUERIES")
    max_queued_queries: int = Field(64, ge=0, validation_alias="GRAPH_API_MAX_QUEUED_QUERIES")
    queue_timeout_s: float = Field(5.0, gt=0, validation_alias="GRAPH_API_QUEUE_TIMEOUT")
    max_waiters_per_database: int = Field(32, ge=0, validation_alias="GRAPH_API_MAX_WAITERS_PER_DATABASE")
    memory_high_water_percent: float = Field(90.0, gt=0, le=100, validation_alias="GRAPH_API_MEMORY_HIGH_WATER_PERCENT")
    # The host's memory too, for nodes that share their machine; 100 turns this check off.
    system_memory_high_water_percent: float = Field(
        90.0, gt=0, le=100, validation_alias="GRAPH_API_SYSTEM_MEMORY_HIGH_WATER_PERCENT")
    retry_after_s: int = Field(1, ge=1, validation_alias="GRAPH_API_RETRY_AFTER")
    # Below this much free space on the base path's volume, writes, staging, ingest, copies, backups,
    # restores and new databases answer 507 insufficient_storage; reads go on. 0 turns it off.
    min_free_disk_mb: int = Field(1024, ge=0, validation_alias="GRAPH_API_MIN_FREE_DISK_MB")

    # Neo4j backend (issue: Neo4j backend).
    neo4j_uri: str = Field("bolt://127.0.0.1:7687", validation_alias="NEO4J_URI")
    neo4j_username: str = Field("neo4j", validation_alias="NEO4J_USERNAME")
    neo4j_password: SecretStr = Field(SecretStr(""), validation_alias="NEO4J_PASSWORD")
    neo4j_enterprise: bool = Field(False, validation_alias="NEO4J_ENTERPRISE")
    neo4j_max_pool_size: int = Field(50, ge=1, validation_alias="NEO4J_MAX_CONNECTION_POOL_SIZE")
    # Community: the one database every graph lives in (always named explicitly; ArcadeDB never
    # switches a pooled connection back to `neo4j`/`system`).
    neo4j_database: str = Field("neo4j", validation_alias="NEO4J_DATABASE")
    # A server that can create databases (ArcadeDB's HTTP admin API): one database per graph_id.
    neo4j_admin_url: str | None = Field(None, validation_alias="NEO4J_ADMIN_URL")

    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")

    # Feature sections (each reads its own variables, listed in docs/configuration.md).
    staging: StagingSettings = Field(default_factory=StagingSettings)
    tasks: TaskSettings = Field(default_factory=TaskSettings)
    backup: BackupSettings = Field(default_factory=BackupSettings)
    cloudwatch: CloudWatchSettings = Field(default_factory=CloudWatchSettings)
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)

    @field_validator("max_db_size_gb")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value & (value - 1):
            raise ValueError("GRAPH_API_MAX_DB_SIZE_GB (KUZU_MAX_DB_SIZE_GB) must be a power of two (the engines require it)")
        return value

    @model_validator(mode="after")
    def _one_truth(self) -> NodeSettings:
        """What the cluster section describes too (the registry row) comes from the node's settings,
        CLI options included."""
        self.cluster = self.cluster.model_copy(update={
            "port": self.port, "instance_id": self.instance_id, "node_type": self.node_type,
            "tier": self.tier, "max_databases": self.max_databases, "environment": self.environment,
        })
        if "duckdb_memory_limit" not in self.staging.model_fields_set:
            # Staging runs DuckDB in the node's own process: by default a staging database may use a
            # quarter of the node's memory, at most 1 GB (its limit bounds even a 100 MB string).
            limit_mb = min(1024, max(64, self.max_memory_mb // 4))
            self.staging = self.staging.model_copy(update={"duckdb_memory_limit": f"{limit_mb}MB"})
        return self

    @property
    def development(self) -> bool:
        """Development mode, or the dev environment (the default): the node may make its own keys."""
        return self.dev_mode or self.environment == "dev"

    @property
    def api_keys_configured(self) -> bool:
        return bool(self.api_key.get_secret_value())
