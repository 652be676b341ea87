"""The Kuzu backend: many embedded databases in one process, one directory each."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kuzu
import pyarrow as pa

from node_api.backends.base import (
    BackendStats,
    BulkLoadResult,
    Capabilities,
    DatabaseInfo,
    DatabaseStats,
    GraphBackend,
    GraphSchema,
    PropertyInfo,
    QueryResult,
    ResultStream,
    StatementKind,
    TableInfo,
)
from node_api.backends.errors import (
    CapacityExceeded,
    DatabaseBusy,
    DatabaseExists,
    DatabaseNotFound,
    InvalidSchema,
    Overloaded,
)
from node_api.backends.kuzu.catalog import GRAPH_FILE, Catalog, GraphMeta
from node_api.backends.kuzu.copy import copy_arrow
from node_api.backends.kuzu.errors import translate
from node_api.backends.kuzu.pool import OpenDatabase
from node_api.backends.kuzu.rebuild import Loads, rebuild
from node_api.backends.kuzu.runner import EngineRunner
from node_api.backends.values import kuzu_row
from node_api.core.memory import release_free_memory
from node_api.security.cypher_guard import KUZU_DIALECT, CypherGuard
from node_api.security.paths import validate_graph_id, validate_identifier
from node_api.settings import NodeSettings

_REAPER_INTERVAL_S = 5.0
_STRUCTURED = re.compile(r"NODE|REL|STRUCT|MAP|UNION|ANY")


class KuzuBackend(GraphBackend):
    kind = "kuzu"
    capabilities = Capabilities(multiple_databases=True, s3_copy=True, staging_tables=True, native_backup=True)
    engine_version = kuzu.__version__
    backup_file_pattern = re.compile(r"graph\.kuzu(\.wal)?")  # backup.py: GRAPH_FILE, WAL_FILE

    def __init__(self, settings: NodeSettings) -> None:
        self.settings = settings
        self.catalog = Catalog(settings.base_path)
        self.guard = CypherGuard(KUZU_DIALECT, settings.max_query_length)
        self.runner = EngineRunner(max_workers=settings.max_concurrent_queries + 4)
        self._metas: dict[str, GraphMeta] = {}
        self._open: dict[str, OpenDatabase] = {}
        self._lifecycle: dict[str, asyncio.Lock] = {}
        self._busy: set[str] = set()  # being created, deleted or replaced
        self._create_lock = asyncio.Lock()
        self._reaper: asyncio.Task[None] | None = None

    # ---- backend lifecycle

    async def start(self) -> None:
        await self.runner.run(self.catalog.prepare)
        self._metas = await self.runner.run(self.catalog.load_all)
        self._reaper = asyncio.create_task(self._reap_idle(), name="kuzu-idle-reaper")

    async def close(self) -> None:
        if self._reaper:
            self._reaper.cancel()
            with suppress(asyncio.CancelledError):
                await self._reaper
        for graph_id in list(self._open):
            handle = self._open.pop(graph_id)
            handle.interrupt_all()
            await handle.close()
        self.runner.shutdown()

    async def health(self) -> dict[str, Any]:
        probe = await self.runner.run(lambda: self.catalog.base.is_dir())
        return {"engine": "kuzu", "engine_version": self.engine_version, "storage_ok": probe}

    def stats(self) -> BackendStats:
        handles = list(self._open.values())
        return BackendStats(
            open_databases=len(handles),
            active_connections=sum(h.active for h in handles),
            idle_connections=sum(h.idle_connections for h in handles),
            waiting_requests=sum(h.waiting for h in handles),
        )

    def usage_by_database(self) -> dict[str, tuple[int, int]]:
        return {gid: (h.active, h.waiting) for gid, h in self._open.items()}

    def classify(self, cypher: str) -> StatementKind:
        return self.guard.classify(cypher)

    # ---- databases

    def _lock(self, graph_id: str) -> asyncio.Lock:
        return self._lifecycle.setdefault(graph_id, asyncio.Lock())

    def _meta(self, graph_id: str) -> GraphMeta:
        validate_graph_id(graph_id)
        if graph_id in self._busy:
            raise DatabaseBusy(f"database {graph_id} is being changed; retry shortly", graph_id=graph_id)
        meta = self._metas.get(graph_id)
        if meta is None:
            raise DatabaseNotFound(f"database {graph_id} does not exist", graph_id=graph_id)
        return meta

    def _info(self, meta: GraphMeta, size: int | None) -> DatabaseInfo:
        handle = self._open.get(meta.graph_id)
        last_used = None
        if handle is not None:
            last_used = datetime.fromtimestamp(time.time() - (time.monotonic() - handle.last_used), UTC)
        return DatabaseInfo(meta.graph_id, meta.schema_type, meta.created_at, handle is not None, size, last_used)

    async def database_count(self) -> int:
        return len(self._metas) + len(self._busy - self._metas.keys())

    @asynccontextmanager
    async def reserve(self, graph_id: str) -> AsyncIterator[None]:
        """Holds a new graph_id against the node's capacity while it is built (create, restore)."""
        validate_graph_id(graph_id)
        async with self._create_lock:
            if graph_id in self._metas or graph_id in self._busy:
                raise DatabaseExists(f"database {graph_id} already exists", graph_id=graph_id)
            if await self.database_count() >= self.settings.max_databases:
                raise CapacityExceeded(
                    f"this node holds its maximum of {self.settings.max_databases} databases "
                    "(KUZU_MAX_DATABASES_PER_NODE)",
                    max_databases=self.settings.max_databases,
                )
            self._busy.add(graph_id)
        try:
            yield
        finally:
            self._busy.discard(graph_id)

    async def publish_database(self, graph_id: str, build_dir: Path, meta: GraphMeta) -> None:
        """Makes a finished build visible as a new graph (inside `reserve`)."""
        await self.runner.run(lambda: Catalog.write_meta(build_dir, meta))
        await self.runner.run(lambda: self.catalog.publish(build_dir, graph_id))
        self._metas[graph_id] = meta

    async def replace_database(self, graph_id: str, build_dir: Path, meta: GraphMeta) -> None:
        """Swaps a finished build in for a live graph (restore, rebuild): in-flight work finishes,
        the handle closes, listeners (staging) let go of the directory, the engine files are renamed
        into place and the graph's other data is carried across."""
        async with self._lock(graph_id):
            self._meta(graph_id)  # DatabaseBusy / DatabaseNotFound if it changed meanwhile
            self._busy.add(graph_id)
            try:
                await self._close_handle(graph_id, interrupt=False)
                await self.runner.run(lambda: Catalog.write_meta(build_dir, meta))
                for listener in self.listeners:
                    await self.runner.run(lambda listener=listener: listener.before_replace(graph_id))
                try:
                    await self.runner.run(lambda: self.catalog.swap_in(build_dir, graph_id))
                    self._metas[graph_id] = meta
                finally:
                    for listener in self.listeners:
                        await self.runner.run(lambda listener=listener: listener.after_replace(graph_id))
            finally:
                self._busy.discard(graph_id)

    def new_database(self, path: Path) -> kuzu.Database:
        """A Database with the node's engine settings, for paths nothing serves (builds, checks)."""
        return kuzu.Database(
            str(path),
            buffer_pool_size=self.settings.memory_per_db_mb << 20,  # a hard cap: Kuzu does not spill
            max_num_threads=self.settings.threads_per_db,
            max_db_size=self.settings.max_db_size_gb << 30,  # address space reserved per Database
        )

    async def create_database(self, graph_id: str, schema_type: str, ddl: Sequence[str]) -> DatabaseInfo:
        async with self.reserve(graph_id):
            meta = GraphMeta(graph_id, schema_type, Catalog.now(), self.kind, self.engine_version)
            build_dir = await self.runner.run(lambda: self.catalog.new_build_dir(graph_id))
            try:
                await self.runner.run(lambda: self._build(build_dir, ddl))
                await self.publish_database(graph_id, build_dir, meta)
            except BaseException:
                await self.runner.run(lambda: shutil.rmtree(build_dir, ignore_errors=True))
                raise
            return self._info(meta, None)

    def _build(self, directory: Path, ddl: Sequence[str]) -> None:
        """Creates a fresh database file and applies the DDL (all or nothing: a failure discards it)."""
        database = self.new_database(directory / GRAPH_FILE)
        try:
            conn = kuzu.Connection(database)
            try:
                for statement in ddl:
                    try:
                        conn.execute(statement)
                    except RuntimeError as exc:
                        raise InvalidSchema(f"DDL failed: {exc}", statement=statement[:500]) from None
            finally:
                conn.close()
        finally:
            database.close()

    async def delete_database(self, graph_id: str) -> None:
        self._meta(graph_id)
        async with self._lock(graph_id):
            self._meta(graph_id)
            self._busy.add(graph_id)
            try:
                await self._close_handle(graph_id, interrupt=True)
                for listener in self.listeners:
                    await self.runner.run(lambda listener=listener: listener.before_delete(graph_id))
                await self.runner.run(lambda: self.catalog.remove(graph_id))
                self._metas.pop(graph_id, None)
            finally:
                self._busy.discard(graph_id)
                self._lifecycle.pop(graph_id, None)

    async def list_databases(self) -> list[DatabaseInfo]:
        return [self._info(meta, None) for meta in sorted(self._metas.values(), key=lambda m: m.graph_id)]

    async def database_info(self, graph_id: str) -> DatabaseInfo:
        meta = self._meta(graph_id)
        size = await self.runner.run(lambda: Catalog.size_bytes(self.catalog.graph_dir(graph_id)))
        return self._info(meta, size)

    # ---- open databases (LRU of open handles)

    async def _handle(self, graph_id: str) -> OpenDatabase:
        self._meta(graph_id)
        handle = self._open.get(graph_id)
        if handle is not None and not handle.closing:
            return handle
        async with self._lock(graph_id):
            self._meta(graph_id)
            handle = self._open.get(graph_id)
            if handle is not None and not handle.closing:
                return handle
            await self._make_room()
            handle = await OpenDatabase.open(
                graph_id,
                self.catalog.graph_file(graph_id),
                self.runner,
                buffer_pool_bytes=self.settings.memory_per_db_mb << 20,
                max_db_size_bytes=self.settings.max_db_size_gb << 30,
                threads=self.settings.threads_per_db,
                pool_size=self.settings.connection_pool_size,
                max_waiters=self.settings.max_waiters_per_database,
                queue_timeout_s=self.settings.queue_timeout_s,
                retry_after_s=self.settings.retry_after_s,
            )
            self._open[graph_id] = handle
            return handle

    async def _make_room(self) -> None:
        while len(self._open) >= self.settings.max_open_databases:
            idle = [h for h in self._open.values() if h.idle and not h.closing]
            if not idle:
                raise Overloaded(
                    f"all {len(self._open)} open databases are busy (KUZU_MAX_OPEN_DATABASES)",
                    retry_after_s=self.settings.retry_after_s,
                )
            victim = min(idle, key=lambda h: h.last_used)
            await self._close_handle(victim.graph_id, interrupt=False)

    async def _close_handle(self, graph_id: str, *, interrupt: bool) -> None:
        handle = self._open.get(graph_id)
        if handle is None:
            return
        handle.closing = True  # no new checkouts
        if interrupt:
            handle.interrupt_all()
        while not handle.idle:
            await asyncio.sleep(0.01)
            if interrupt:
                handle.interrupt_all()
        self._open.pop(graph_id, None)
        await handle.close()

    async def _reap_idle(self) -> None:
        while True:
            await asyncio.sleep(_REAPER_INTERVAL_S)
            cutoff = time.monotonic() - self.settings.idle_database_timeout_s
            closed = 0
            for handle in list(self._open.values()):
                if handle.idle and not handle.closing and handle.last_used < cutoff:
                    async with self._lock(handle.graph_id):
                        if handle.idle and self._open.get(handle.graph_id) is handle:
                            await self._close_handle(handle.graph_id, interrupt=False)
                            closed += 1
            if closed:
                await self.runner.run(release_free_memory)

    @asynccontextmanager
    async def _connection(self, graph_id: str, kind: StatementKind) -> AsyncIterator[tuple[OpenDatabase, kuzu.Connection]]:
        handle = await self._handle(graph_id)
        async with handle.connection(kind) as conn:
            yield handle, conn

    # ---- queries

    async def execute(
        self, graph_id: str, cypher: str, parameters: Mapping[str, Any] | None, *, timeout_s: float,
        kind: StatementKind,
    ) -> QueryResult:
        async with self.stream(graph_id, cypher, parameters, timeout_s=timeout_s, kind=kind,
                               chunk_size=0) as result:
            rows: list[list[Any]] = []
            async for chunk in result.chunks():
                rows.extend(chunk)
            return QueryResult(result.columns, rows)

    @asynccontextmanager
    async def stream(
        self, graph_id: str, cypher: str, parameters: Mapping[str, Any] | None, *, timeout_s: float,
        kind: StatementKind, chunk_size: int,
    ) -> AsyncIterator[ResultStream]:
        async with self._connection(graph_id, kind) as (_handle, conn):
            timeout_ms = max(1, int(timeout_s * 1000))
            params = dict(parameters or {})

            def _execute() -> _KuzuResultStream:
                conn.set_query_timeout(timeout_ms)  # enforced inside the engine
                # The first chunk is read on the same worker thread: one thread hop for a small result.
                return _KuzuResultStream(self.runner, conn, conn.execute(cypher, params), chunk_size)

            started = time.monotonic()
            try:
                stream = await self.runner.run_interruptible(conn, _execute)
            except Exception as exc:  # noqa: BLE001 - translated to the API's error classes
                timed_out = time.monotonic() - started >= timeout_s * 0.99
                raise translate(exc, timed_out=timed_out) from None
            try:
                yield stream
            finally:
                stream.close()

    # ---- schema

    async def schema(self, graph_id: str) -> GraphSchema:
        async with self._connection(graph_id, StatementKind.READ) as (_h, conn):
            return await self.runner.run(lambda: _read_schema(conn))

    async def apply_ddl(self, graph_id: str, statements: Sequence[str]) -> None:
        async with self._connection(graph_id, StatementKind.WRITE) as (_h, conn):
            def _apply() -> None:
                conn.execute("BEGIN TRANSACTION")
                try:
                    for statement in statements:
                        conn.execute(statement)
                except Exception:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")

            try:
                await self.runner.run(_apply)
            except RuntimeError as exc:
                raise InvalidSchema(f"DDL failed: {exc}") from None

    # ---- data movement

    async def bulk_load(self, graph_id: str, table_name: str, data: pa.Table, *, ignore_errors: bool) -> BulkLoadResult:
        validate_identifier(table_name, "table name")
        async with self._connection(graph_id, StatementKind.WRITE) as (_h, conn):
            try:
                loaded, warnings = await self.runner.run(
                    lambda: copy_arrow(conn, table_name, data, ignore_errors=ignore_errors))
            except Exception as exc:  # noqa: BLE001
                raise translate(exc) from None
            return BulkLoadResult(data.num_rows, loaded, data.num_rows - loaded, warnings)

    async def database_stats(self, graph_id: str) -> DatabaseStats:
        async with self._connection(graph_id, StatementKind.READ) as (handle, conn):
            def _counts() -> tuple[int, int]:
                nodes = conn.execute("MATCH (n) RETURN count(n)")
                rels = conn.execute("MATCH ()-[r]->() RETURN count(r)")
                counts = (nodes.get_next()[0], rels.get_next()[0])
                nodes.close()
                rels.close()
                return counts

            node_count, rel_count = await self.runner.run(_counts)
            last_write = handle.last_write
        size = await self.runner.run(lambda: Catalog.size_bytes(self.catalog.graph_dir(graph_id)))
        return DatabaseStats(graph_id, size, node_count, rel_count,
                             datetime.fromtimestamp(last_write, UTC) if last_write else None)

    async def rebuild_database(
        self, graph_id: str, loads: Loads, *, ignore_errors: bool,
        on_loaded: Callable[[str, int], None] | None = None,
    ) -> list[tuple[int, list[str]]]:
        """Rebuilds graph_id from its own schema and `loads` (table name, Arrow producer), in order;
        returns (rows loaded, warnings) per table. The live graph stays until the new one is complete."""
        return await rebuild(self, graph_id, loads, ignore_errors=ignore_errors, on_loaded=on_loaded)

    async def backup(self, graph_id: str, destination_dir: Path) -> dict[str, Any]:
        from node_api.backends.kuzu import backup

        return await backup.snapshot(self, graph_id, destination_dir)

    async def restore(self, graph_id: str, source_dir: Path, *, schema_type: str) -> DatabaseInfo:
        from node_api.backends.kuzu import backup

        return await backup.restore(self, graph_id, source_dir, schema_type=schema_type)


class _KuzuResultStream(ResultStream):
    """Built on the worker thread that ran the query; it reads the first chunk there."""

    def __init__(self, runner: EngineRunner, conn: kuzu.Connection, result: kuzu.QueryResult, chunk_size: int) -> None:
        self._runner = runner
        self._conn = conn
        self._result = result
        self._chunk_size = chunk_size
        self.columns = list(result.get_column_names())
        # Rows of scalars (and lists of scalars) need no reshaping: skip the per-row pass for them.
        self._reshape = any(_STRUCTURED.search(t) for t in result.get_column_data_types())
        self._first = self._fetch()

    def _fetch(self) -> list[list[Any]]:
        if not self._result.has_next():
            return []
        raw = self._result.get_all() if self._chunk_size <= 0 else self._result.get_n(self._chunk_size)
        return [kuzu_row(row) for row in raw] if self._reshape else raw

    def close(self) -> None:
        self._result.close()

    async def chunks(self) -> AsyncIterator[list[list[Any]]]:
        chunk, self._first = self._first, []
        while chunk:
            yield chunk
            if self._chunk_size <= 0:
                return
            chunk = await self._runner.run_interruptible(self._conn, self._fetch)


def _read_schema(conn: kuzu.Connection) -> GraphSchema:
    def rows(query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        result = conn.execute(query, params or {})
        columns = result.get_column_names()
        out = [dict(zip(columns, row, strict=True)) for row in result.get_all()]
        result.close()
        return out

    node_tables: list[TableInfo] = []
    rel_tables: list[TableInfo] = []
    for table in rows("CALL show_tables() RETURN *"):
        name, kind = table["name"], str(table["type"]).upper()
        props = [
            PropertyInfo(p["name"], str(p["type"]), bool(p.get("primary key", False)))
            for p in rows(f"CALL table_info('{name}') RETURN *")
        ]
        comment = table.get("comment") or None
        if kind == "NODE":
            node_tables.append(TableInfo(name, "node", props, comment=comment))
        elif kind == "REL":
            conns = rows(f"CALL show_connection('{name}') RETURN *")
            rel_tables.append(TableInfo(
                name, "rel", props,
                from_tables=sorted({c["source table name"] for c in conns}),
                to_tables=sorted({c["destination table name"] for c in conns}),
                comment=comment,
            ))
    indexes = [{k: v for k, v in idx.items()} for idx in rows("CALL show_indexes() RETURN *")]
    return GraphSchema(node_tables, rel_tables, indexes)
