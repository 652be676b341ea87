"""The backend interface the routers use. It knows nothing of HTTP.

A backend hosts the graph databases of one node: Kuzu embeds one engine per database directory,
Neo4j fronts a Bolt server. Every method is async; engines that block run on worker threads
inside the backend, never on the event loop. Errors are the classes of backends/errors.py.
"""

from __future__ import annotations

import abc
import re
from collections.abc import AsyncIterator, Callable, Container, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pyarrow as pa

from node_api.backends.errors import Unsupported


class StatementKind(StrEnum):
    READ = "read"
    WRITE = "write"


@dataclass(frozen=True)
class Capabilities:
    """What a backend supports; the API answers 4xx `not_supported` for the rest."""

    multiple_databases: bool
    s3_copy: bool
    staging_tables: bool
    native_backup: bool


@dataclass(frozen=True)
class DatabaseInfo:
    graph_id: str
    schema_type: str
    created_at: datetime
    is_open: bool
    size_bytes: int | None
    last_used_at: datetime | None = None


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]  # JSON-ready values (backends/values.py)


class ResultStream(abc.ABC):
    """Rows of one query, fetched from the engine a chunk at a time.

    The engine connection stays checked out until the stream is closed; close it (async with)
    even when the consumer stops early.
    """

    columns: list[str]

    @abc.abstractmethod
    def chunks(self) -> AsyncIterator[list[list[Any]]]:
        """Each chunk as JSON-ready rows (backends/values.py shapes)."""

    async def encoded_chunks(self) -> AsyncIterator[tuple[bytes, int]]:
        """Each chunk as (one JSON array of rows, its row count). Backends whose engine encodes
        rows itself (embedded workers) override this, so the HTTP process relays bytes it never
        decodes."""
        from node_api.core.jsonenc import dumps

        async for chunk in self.chunks():
            yield dumps(chunk), len(chunk)


@dataclass(frozen=True)
class PropertyInfo:
    name: str
    type: str
    primary_key: bool = False


@dataclass(frozen=True)
class TableInfo:
    name: str
    kind: str  # "node" | "rel"
    properties: list[PropertyInfo]
    from_tables: list[str] = field(default_factory=list)  # rel tables only
    to_tables: list[str] = field(default_factory=list)
    comment: str | None = None


@dataclass(frozen=True)
class GraphSchema:
    node_tables: list[TableInfo]
    rel_tables: list[TableInfo]
    indexes: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class BulkLoadResult:
    rows_received: int
    rows_loaded: int
    rows_skipped: int
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DatabaseStats:
    graph_id: str
    size_bytes: int
    node_count: int
    rel_count: int
    last_write_at: datetime | None


@dataclass(frozen=True)
class BackendStats:
    """Node-wide figures for /status, /info and /metrics."""

    open_databases: int
    active_connections: int
    idle_connections: int
    waiting_requests: int


@dataclass(frozen=True)
class DatabaseUsage:
    """One open database's load, for /status/databases."""

    active_connections: int
    waiting_requests: int
    worker_pid: int | None = None  # its engine worker process (embedded backends)
    worker_memory_bytes: int | None = None


@dataclass(frozen=True)
class EngineProcessStats:
    """Engine worker processes (embedded backends): how many run, their memory, how they ended."""

    workers: int
    worker_rss_bytes: dict[str, int]  # graph_id (or a build's label) -> resident bytes
    exits: dict[str, int]  # reason (crashed, memory, node_memory, timeout, abandoned, stopped) -> count
    memory_enforcement: str  # "cgroup" (kernel memory.max) or "sampling" (the node's supervisor)
    sandbox: str  # how workers confine their file access: "landlock abi N", "unavailable", or "unknown" yet


class DatabaseListener(Protocol):
    """Another part of the node that keeps files in a graph's directory (staging) and must let go of
    them while the backend deletes or replaces the graph. Called on a worker thread."""

    def before_replace(self, graph_id: str) -> None: ...

    def after_replace(self, graph_id: str) -> None: ...

    def before_delete(self, graph_id: str) -> None: ...


RecordT = TypeVar("RecordT")


def record_of(records: Mapping[str, RecordT], busy: Container[str], graph_id: str) -> RecordT:
    """A backend's record of a graph: InvalidIdentifier for a malformed id, DatabaseBusy while the graph
    is being created, deleted or replaced, DatabaseNotFound if there is none."""
    from node_api.backends.errors import DatabaseBusy, DatabaseNotFound
    from node_api.security.paths import validate_graph_id

    validate_graph_id(graph_id)
    if graph_id in busy:
        raise DatabaseBusy(f"database {graph_id} is being changed; retry shortly", graph_id=graph_id)
    record = records.get(graph_id)
    if record is None:
        raise DatabaseNotFound(f"database {graph_id} does not exist", graph_id=graph_id)
    return record


class GraphBackend(abc.ABC):
    kind: str
    capabilities: Capabilities
    engine_version: str
    # The flat file names `backup` may write and `restore` reads (fullmatch): a restore extracts
    # nothing else from an archive (node_api/core/backup/archive.py).
    backup_file_pattern: re.Pattern[str]
    # Portable backup formats this backend writes (`portable_backup`) and restores whatever engine wrote
    # them (docs/engine-migration.md); empty: its backups restore only on its own engine and version.
    portable_formats: frozenset[str] = frozenset()
    # Engine extensions tenants' statements may use (GET /info lists them).
    extensions: tuple[str, ...] = ()

    @property
    def listeners(self) -> list[DatabaseListener]:
        return self.__dict__.setdefault("_listeners", [])

    def add_listener(self, listener: DatabaseListener) -> None:
        self.listeners.append(listener)

    # ---- lifecycle of the backend itself
    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def health(self) -> dict[str, Any]:
        """Raises BackendUnavailable when the engine cannot serve."""

    @abc.abstractmethod
    def stats(self) -> BackendStats: ...

    def on_memory_pressure(self, relieve: Callable[[], bool]) -> None:
        """Registers work of the node's own process to stop when the node passes KUZU_MAX_MEMORY_MB and
        its own process holds the most: `relieve()` (called from any thread) stops it and returns True
        if it stopped anything. Backends without a memory supervisor ignore it."""
        del relieve

    def engine_processes(self) -> EngineProcessStats | None:
        """None for backends that run no engine process of their own (Neo4j over Bolt)."""
        return None

    def worker_memory_bytes(self) -> int:
        """Resident bytes of the processes the backend runs beside the node's own (engine workers):
        admission control counts the node's whole process tree."""
        return 0

    def usage_by_database(self) -> dict[str, DatabaseUsage]:
        """graph_id -> its load, for databases open now."""
        return {}

    # ---- statement policy
    @abc.abstractmethod
    def classify(self, cypher: str) -> StatementKind:
        """Read or write; raises QueryForbidden / InvalidQuery for statements tenants may not run."""

    # ---- databases
    @abc.abstractmethod
    async def create_database(self, graph_id: str, schema_type: str, ddl: Sequence[str]) -> DatabaseInfo:
        """Creates the database and applies `ddl` atomically: on failure nothing is left behind."""

    @abc.abstractmethod
    async def delete_database(self, graph_id: str) -> None: ...

    @abc.abstractmethod
    async def list_databases(self) -> list[DatabaseInfo]: ...

    @abc.abstractmethod
    async def database_info(self, graph_id: str) -> DatabaseInfo: ...

    @abc.abstractmethod
    async def database_count(self) -> int: ...

    # ---- queries
    @abc.abstractmethod
    async def execute(
        self,
        graph_id: str,
        cypher: str,
        parameters: Mapping[str, Any] | None,
        *,
        timeout_s: float,
        kind: StatementKind,
    ) -> QueryResult: ...

    @abc.abstractmethod
    def stream(
        self,
        graph_id: str,
        cypher: str,
        parameters: Mapping[str, Any] | None,
        *,
        timeout_s: float,
        kind: StatementKind,
        chunk_size: int,
    ) -> AbstractAsyncContextManager[ResultStream]: ...

    # ---- schema
    @abc.abstractmethod
    async def schema(self, graph_id: str) -> GraphSchema: ...

    @abc.abstractmethod
    async def apply_ddl(self, graph_id: str, statements: Sequence[str]) -> None: ...

    # ---- data movement
    @abc.abstractmethod
    async def bulk_load(
        self, graph_id: str, table_name: str, data: pa.Table, *, ignore_errors: bool
    ) -> BulkLoadResult:
        """Loads Arrow data into a node or rel table (rel: FROM and TO key columns first)."""

    @abc.abstractmethod
    async def database_stats(self, graph_id: str) -> DatabaseStats: ...

    @abc.abstractmethod
    async def backup(self, graph_id: str, destination_dir: Path) -> dict[str, Any]:
        """Writes a consistent copy of the database into destination_dir; returns manifest facts."""

    async def portable_backup(self, graph_id: str, destination_dir: Path) -> dict[str, Any]:
        """Like `backup`, in a format of `portable_formats` (another engine can restore it). Raises
        Unsupported where the backend has none."""
        raise Unsupported(f"the {self.kind} backend writes no portable backup format; use the native one")

    @abc.abstractmethod
    async def restore(self, graph_id: str, source_dir: Path, *, schema_type: str) -> DatabaseInfo:
        """Replaces (or creates) graph_id from a backup directory (a native backup of this backend, or
        one in a format of `portable_formats`: the manifest says which); the old data stays until done."""
