"""The Neo4j backend: graphs on a Bolt server, reached through the official async driver.

One pooled driver (NEO4J_MAX_CONNECTION_POOL_SIZE) serves every graph. Where a graph lives is the
admin hook's business (admin.py): community = one database, one graph; a multi-database server
= one database per graph_id. Every session names its database explicitly: the server default is
never relied on (ArcadeDB's Bolt server keeps a pooled connection on the last database it used when
asked for `neo4j`). Table DDL is translated by ddl.py; the graph's record is catalog.py;
JSON-lines backups are backup.py, bulk loads bulk.py.

Those collaborators use the backend's public seam only (the "seam" section below): `session()` and
`run()` on a server database, `graph_record()` / `exists()` for a graph's record, `changing()` to hold
a graph busy while it is changed in place, `apply_plan()`, `save_record()`, `drop_constraints()` and
`info_of()`.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import neo4j
import pyarrow as pa
from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction, AsyncSession

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
    record_of,
)
from node_api.backends.errors import (
    BackendError,
    BackendUnavailable,
    CapacityExceeded,
    DatabaseExists,
    InvalidSchema,
    Unsupported,
)
from node_api.backends.neo4j import ddl as ddl_mod
from node_api.backends.neo4j.admin import ARCADEDB_UNSWITCHABLE, DatabaseAdmin, SingleDatabase
from node_api.backends.neo4j.catalog import (
    META_LABEL,
    READ_META,
    RESTORE_LABEL,
    WRITE_META,
    GraphRecord,
    now,
)
from node_api.backends.neo4j.errors import translate, translated
from node_api.backends.neo4j.session import BoltResultStream, Budget, timed
from node_api.backends.neo4j.values import bolt_parameters, neo4j_row
from node_api.security.paths import validate_graph_id, validate_identifier
from node_api.security.policy import policy_for
from node_api.settings import BackendType, NodeSettings

q = ddl_mod.quote

DELETE_BATCH = 2_000  # DETACH DELETE runs ~2k nodes/s on ArcadeDB: keep each statement short
_SYSTEM_LABELS = frozenset({META_LABEL, RESTORE_LABEL})

ENTERPRISE_NOT_IMPLEMENTED = (
    "the Neo4j enterprise edition (multi-database with clustering) is not implemented: "
    "see docs/neo4j-backend.md; run with NEO4J_ENTERPRISE=false (community)"
)


class Neo4jBackend(GraphBackend):
    kind = "neo4j"
    engine_version = "unknown"
    backup_file_pattern = re.compile(r"manifest\.json|nodes\.jsonl|relationships\.jsonl")  # backup.py

    def __init__(self, settings: NodeSettings, *, admin: DatabaseAdmin | None = None) -> None:
        self.settings = settings
        self.admin = admin or SingleDatabase()
        self.capabilities = Capabilities(
            multiple_databases=self.admin.multiple, s3_copy=False, staging_tables=False, native_backup=False
        )
        self.policy = policy_for("neo4j", settings.max_query_length)
        self._driver: AsyncDriver | None = None
        self._records: dict[str, GraphRecord] = {}
        self._busy: set[str] = set()
        self._create_lock = asyncio.Lock()
        self._last_write: dict[str, float] = {}
        self._active = 0
        self.server_agent = ""
        self.is_arcadedb = False

    # ---- backend lifecycle

    async def start(self) -> None:
        if self.settings.neo4j_enterprise or self.settings.backend_type is BackendType.NEO4J_ENTERPRISE:
            raise Unsupported(ENTERPRISE_NOT_IMPLEMENTED)
        s = self.settings
        self._driver = AsyncGraphDatabase.driver(
            s.neo4j_uri,
            auth=(s.neo4j_username, s.neo4j_password.get_secret_value()),
            max_connection_pool_size=s.neo4j_max_pool_size,
            connection_acquisition_timeout=s.queue_timeout_s,
            connection_timeout=5.0,
            user_agent="graph-node-api",
        )
        try:
            await self._driver.verify_connectivity()
            info = await self._driver.get_server_info()
        except Exception as exc:  # noqa: BLE001 - any failure here means the node cannot serve
            await self._driver.close()
            self._driver = None
            raise translate(exc) from None
        self.server_agent = info.agent
        self.engine_version = info.agent.split("/", 1)[-1]
        self.is_arcadedb = "ArcadeDB" in info.agent
        if self.is_arcadedb and isinstance(self.admin, SingleDatabase) \
                and self.admin.name.lower() in ARCADEDB_UNSWITCHABLE:
            raise BackendError(
                f"ArcadeDB cannot be addressed as database {self.admin.name!r} over Bolt (it keeps the "
                "connection on the previous database); configure a real database name"
            )
        await self._load_records()

    async def _load_records(self) -> None:
        records: dict[str, GraphRecord] = {}
        for database in await self.admin.list():
            if database.lower() in ARCADEDB_UNSWITCHABLE and self.admin.multiple:
                continue
            rows = await self.run(database, StatementKind.READ, READ_META, {}, 30.0)
            if rows:
                record = GraphRecord.from_props(database, rows[0][0])
                records[record.graph_id] = record
        self._records = records

    async def close(self) -> None:
        if self._driver is not None:
            await self._driver.close()
            self._driver = None
        await self.admin.close()

    async def health(self) -> dict[str, Any]:
        driver = self._require_driver()
        try:
            async with asyncio.timeout(5.0):
                await driver.verify_connectivity()
        except Exception as exc:  # noqa: BLE001
            raise BackendUnavailable(f"the Neo4j server does not answer: {translate(exc).message}") from None
        return {"engine": "neo4j", "engine_version": self.engine_version, "server": self.server_agent,
                "uri": self.settings.neo4j_uri, "databases": len(self._records)}

    def stats(self) -> BackendStats:
        # The driver does not expose its pool; count the sessions this backend has checked out.
        return BackendStats(open_databases=len(self._records), active_connections=self._active,
                            idle_connections=0, waiting_requests=0)

    def classify(self, cypher: str) -> StatementKind:
        return self.policy.check(cypher)

    # ---- plumbing

    def _require_driver(self) -> AsyncDriver:
        if self._driver is None:
            raise BackendUnavailable("the Neo4j backend is not started")
        return self._driver

    def _record(self, graph_id: str) -> GraphRecord:
        return record_of(self._records, self._busy, graph_id)

    # ---- the seam: what bulk.py and backup.py use, and nothing else of the backend

    @asynccontextmanager
    async def session(self, database: str, kind: StatementKind, fetch_size: int = 1000,
                      ) -> AsyncIterator[AsyncSession]:
        """A driver session on server database `database` (named explicitly, never the server's
        default), in READ or WRITE access mode by `kind`, pulling `fetch_size` records per round trip.
        BackendUnavailable when the backend is not started. Deadlines are the caller's (session.timed)."""
        mode = neo4j.READ_ACCESS if kind is StatementKind.READ else neo4j.WRITE_ACCESS
        session = self._require_driver().session(database=database, default_access_mode=mode,
                                                 fetch_size=fetch_size)
        self._active += 1
        try:
            yield session
        finally:
            self._active -= 1
            # A cancelled session (timeout) has its connection closed by the driver, not reused.
            with suppress(Exception):
                await session.close()

    async def run(self, database: str, kind: StatementKind, cypher: str, params: Mapping[str, Any],
                  timeout_s: float) -> list[list[Any]]:
        """Rows of driver values (not the wire form) of one statement on server database `database`,
        through execute_read / execute_write (retried on transient errors), within `timeout_s` seconds.
        Raises the backend's errors (errors.translate); QueryTimeout past the deadline."""

        async def work(tx: AsyncManagedTransaction) -> list[list[Any]]:
            result = await tx.run(cypher, dict(params))
            return [list(record.values()) async for record in result]

        return await self._managed(database, kind, work, timeout_s)

    async def _managed(self, database: str, kind: StatementKind,
                       work: Callable[[AsyncManagedTransaction], Awaitable[list[list[Any]]]],
                       timeout_s: float) -> list[list[Any]]:
        """`work` in a managed transaction (execute_read / execute_write: the driver retries transient
        errors) on server database `database`, within `timeout_s` seconds; errors translated."""
        unit = neo4j.unit_of_work(timeout=timeout_s)(work)
        async with self.session(database, kind) as session:
            call = session.execute_read if kind is StatementKind.READ else session.execute_write
            with translated():
                return await timed(call(unit), timeout_s)

    async def graph_record(self, graph_id: str) -> GraphRecord:
        """The graph's record, after looking on the server once when this process does not know the
        graph (several API tasks may front one server; another may have created it since start()).
        InvalidIdentifier for a bad graph_id, DatabaseNotFound, DatabaseBusy while it is being changed."""
        validate_graph_id(graph_id)
        if graph_id not in self._records and graph_id not in self._busy:
            database = self.admin.database_for(graph_id)
            if not self.admin.multiple or database in await self.admin.list():
                rows = await self.run(database, StatementKind.READ, READ_META, {}, 30.0)
                if rows and rows[0][0].get("graph_id") == graph_id:
                    self._records[graph_id] = GraphRecord.from_props(database, rows[0][0])
        return self._record(graph_id)

    def exists(self, graph_id: str) -> bool:
        """Whether this process serves graph_id (a graph being created is not served yet)."""
        return graph_id in self._records

    @asynccontextmanager
    async def changing(self, graph_id: str) -> AsyncIterator[GraphRecord]:
        """Holds a served graph busy while a collaborator changes it in place (restore); yields its
        record. Meanwhile every other request for it gets DatabaseBusy. DatabaseNotFound / DatabaseBusy
        (this graph is already being changed) on entry."""
        record = self._record(graph_id)
        self._busy.add(graph_id)
        try:
            yield record
        finally:
            self._busy.discard(graph_id)

    async def save_record(self, record: GraphRecord) -> None:
        """Writes the graph's record into its database and serves the graph by it from now on."""
        await self._write_record(record)
        self._records[record.graph_id] = record

    def info_of(self, record: GraphRecord) -> DatabaseInfo:
        """The API's description of a graph (open: always; size: not known over Bolt)."""
        last = self._last_write.get(record.graph_id)
        return DatabaseInfo(record.graph_id, record.schema_type, record.created_at, True, None,
                            datetime.fromtimestamp(last, UTC) if last else None)

    # ---- databases

    async def database_count(self) -> int:
        return len(self._records) + len(self._busy - self._records.keys())

    async def create_database(self, graph_id: str, schema_type: str, ddl: Sequence[str]) -> DatabaseInfo:
        validate_graph_id(graph_id)
        plan = ddl_mod.plan(list(ddl))
        async with self._create_lock:
            if graph_id in self._records or graph_id in self._busy:
                raise DatabaseExists(f"database {graph_id} already exists", graph_id=graph_id)
            if not self.admin.multiple and (self._records or self._busy):
                holder = next(iter(self._records or self._busy))
                raise CapacityExceeded(
                    f"Neo4j community serves a single database, already holding graph {holder}; "
                    "a second graph needs another node or a multi-database server",
                    max_databases=1,
                )
            if await self.database_count() >= self.settings.max_databases:
                raise CapacityExceeded(f"this node holds its maximum of {self.settings.max_databases} databases",
                                       max_databases=self.settings.max_databases)
            self._busy.add(graph_id)
        database = self.admin.database_for(graph_id)
        created_server_db = False
        try:
            if self.admin.multiple:
                if graph_id in await self.admin.list():
                    raise DatabaseExists(f"a database named {graph_id} exists on the server", graph_id=graph_id)
                await self.admin.create(database)
                created_server_db = True
            else:
                await self._require_empty(database)
            record = GraphRecord(graph_id, database, schema_type, now())
            await self.apply_plan(record, plan)
            await self.save_record(record)
            return self.info_of(record)
        except BaseException:
            with suppress(Exception):
                if created_server_db:
                    await self.admin.drop(database)
                else:
                    await self._wipe(database)
            raise
        finally:
            self._busy.discard(graph_id)

    async def _require_empty(self, database: str) -> None:
        rows = await self.run(database, StatementKind.READ, "MATCH (n) RETURN n LIMIT 1", {}, 30.0)
        if rows:
            raise DatabaseExists(
                f"the server database {database} already holds data that no graph of this node owns; "
                "empty it before creating a graph in it", database=database)

    async def _write_record(self, record: GraphRecord) -> None:
        await self.run(record.database, StatementKind.WRITE, WRITE_META, {"props": record.to_props()}, 30.0)

    async def apply_plan(self, record: GraphRecord, plan: ddl_mod.DdlPlan) -> None:
        """Applies a DDL plan to the graph's database and to `record` (not saved: save_record): schema
        statements, one transaction each (Neo4j refuses schema and data in one transaction). Not atomic
        across statements; create_database undoes a failed build by dropping/wiping. InvalidSchema for
        a table that exists or refers to an unknown one, or a statement the server refuses."""
        statements: list[str] = []
        for table in plan.tables:
            if table.name in record.tables:
                raise InvalidSchema(f"table {table.name} already exists", table=table.name)
            for other in (*table.from_tables, *table.to_tables):
                if other not in record.tables and other not in {t.name for t in plan.tables}:
                    raise InvalidSchema(f"rel table {table.name} refers to unknown node table {other}")
            constraint = ddl_mod.constraint_ddl(table)
            if constraint:
                statements.append(constraint)
        statements.extend(plan.native)
        for statement in statements:
            try:
                await self.run(record.database, StatementKind.WRITE, statement, {}, 60.0)
            except BackendError as exc:
                if isinstance(exc, BackendUnavailable):
                    raise
                raise InvalidSchema(f"DDL failed: {exc.message}", statement=statement[:500]) from None
        for table in plan.tables:
            record.tables[table.name] = table
        record.ddl.extend(plan.statements)
        for name in plan.dropped:
            dropped = record.tables.pop(name) if name in record.tables else None
            key = ddl_mod.primary_key(dropped) if dropped else None
            if dropped and key:
                with suppress(BackendError):
                    await self.run(record.database, StatementKind.WRITE,
                                    f"DROP CONSTRAINT {q(ddl_mod.constraint_name(name, key))} IF EXISTS", {}, 60.0)

    async def _wipe(self, database: str) -> None:
        """Deletes every node, relationship and constraint of a database, in short batches."""
        while True:
            rows = await self.run(database, StatementKind.WRITE,
                                   "MATCH (n) WITH n LIMIT $n DETACH DELETE n RETURN count(*) AS c",
                                   {"n": DELETE_BATCH}, 120.0)
            if not rows or not rows[0][0]:
                break
        await self.drop_constraints(database)

    async def drop_constraints(self, database: str) -> None:
        """Drops every constraint of server database `database` (restore lifts unique keys this way)."""
        for name in await self._constraint_names(database):
            await self.run(database, StatementKind.WRITE, f"DROP CONSTRAINT {q(name)} IF EXISTS", {}, 60.0)

    async def _constraint_names(self, database: str) -> list[str]:
        try:
            rows = await self.run(database, StatementKind.READ, "SHOW CONSTRAINTS YIELD name RETURN name", {}, 30.0)
        except BackendError:
            return []
        return [str(r[0]) for r in rows]

    async def delete_database(self, graph_id: str) -> None:
        record = await self.graph_record(graph_id)
        self._busy.add(graph_id)
        try:
            if self.admin.multiple:
                await self.admin.drop(record.database)
            else:
                await self._wipe(record.database)
            self._records.pop(graph_id, None)
            self._last_write.pop(graph_id, None)
        finally:
            self._busy.discard(graph_id)

    async def list_databases(self) -> list[DatabaseInfo]:
        return [self.info_of(r) for r in sorted(self._records.values(), key=lambda r: r.graph_id)]

    async def database_info(self, graph_id: str) -> DatabaseInfo:
        return self.info_of(await self.graph_record(graph_id))

    # ---- queries

    async def execute(self, graph_id: str, cypher: str, parameters: Mapping[str, Any] | None, *,
                      timeout_s: float, kind: StatementKind) -> QueryResult:
        record = await self.graph_record(graph_id)
        columns: list[str] = []

        async def work(tx: AsyncManagedTransaction) -> list[list[Any]]:
            result = await tx.run(cypher, bolt_parameters(dict(parameters or {})))
            columns[:] = list(result.keys())
            return [neo4j_row(record.values()) async for record in result]

        rows = await self._managed(record.database, kind, work, timeout_s)
        if kind is StatementKind.WRITE:
            self._last_write[graph_id] = time.time()
        return QueryResult(columns, rows)

    @asynccontextmanager
    async def stream(self, graph_id: str, cypher: str, parameters: Mapping[str, Any] | None, *,
                     timeout_s: float, kind: StatementKind, chunk_size: int) -> AsyncIterator[ResultStream]:
        record = await self.graph_record(graph_id)
        chunk_size = chunk_size if chunk_size > 0 else self.settings.chunk_size
        async with self.session(record.database, kind, fetch_size=chunk_size) as session:
            budget = Budget(timeout_s)
            tx = None
            with translated():
                tx = await budget.run(session.begin_transaction(timeout=timeout_s))
                result = await budget.run(tx.run(cypher, bolt_parameters(dict(parameters or {}))))
                columns = list(result.keys())
            stream = BoltResultStream(columns, result, chunk_size, budget)
            try:
                yield stream  # the consumer's own exceptions pass through untouched (and roll back)
                with translated():
                    await budget.run(tx.commit())
                if kind is StatementKind.WRITE:
                    self._last_write[graph_id] = time.time()
            finally:
                if tx is not None and not tx.closed():
                    with suppress(Exception):
                        await tx.close()  # rolls back: the consumer failed or went away

    # ---- schema

    async def schema(self, graph_id: str) -> GraphSchema:
        record = await self.graph_record(graph_id)
        db = record.database
        read = StatementKind.READ
        labels = [str(r[0]) for r in await self.run(db, read, "CALL db.labels() YIELD label RETURN label", {}, 30.0)]
        types = [str(r[0]) for r in await self.run(
            db, read, "CALL db.relationshipTypes() YIELD relationshipType RETURN relationshipType", {}, 30.0)]
        node_tables = [t for t in record.tables.values() if t.kind == "node"]
        rel_tables = [t for t in record.tables.values() if t.kind == "rel"]
        # Labels and types created by queries, not DDL: properties from a sample of 100 entities. One
        # no entity carries is no table (ArcadeDB keeps a type after its last node is deleted, e.g.
        # the tables of a graph restored from a backup that did not have them).
        for label in sorted(set(labels) - record.tables.keys() - _SYSTEM_LABELS):
            if not await self.run(db, read, f"MATCH (n:{q(label)}) RETURN 1 LIMIT 1", {}, 30.0):
                continue
            keys = await self.run(db, read, f"MATCH (n:{q(label)}) WITH n LIMIT 100 UNWIND keys(n) AS k "
                                             "RETURN DISTINCT k ORDER BY k", {}, 30.0)
            node_tables.append(TableInfo(label, "node", [PropertyInfo(str(k[0]), "ANY") for k in keys],
                                         comment="discovered (no DDL)"))
        for rel_type in sorted(set(types) - record.tables.keys()):
            if not await self.run(db, read, f"MATCH ()-[r:{q(rel_type)}]->() RETURN 1 LIMIT 1", {}, 30.0):
                continue
            keys = await self.run(db, read, f"MATCH ()-[r:{q(rel_type)}]->() WITH r LIMIT 100 UNWIND keys(r) AS k "
                                             "RETURN DISTINCT k ORDER BY k", {}, 30.0)
            ends = await self.run(db, read, f"MATCH (a)-[r:{q(rel_type)}]->(b) WITH a, b LIMIT 100 "
                                             "RETURN DISTINCT labels(a), labels(b)", {}, 30.0)
            rel_tables.append(TableInfo(
                rel_type, "rel", [PropertyInfo(str(k[0]), "ANY") for k in keys],
                from_tables=sorted({":".join(sorted(e[0])) for e in ends}),
                to_tables=sorted({":".join(sorted(e[1])) for e in ends}),
                comment="discovered (no DDL)",
            ))
        try:
            rows = await self.run(db, read, "SHOW INDEXES", {}, 30.0)
            index_cols = ["name", "type", "entityType", "labelsOrTypes", "properties", "owningConstraint"]
            indexes = [{k: v for k, v in zip(_SHOW_INDEX_COLUMNS, r, strict=False) if k in index_cols}
                       for r in rows]
        except BackendError:
            indexes = []
        return GraphSchema(node_tables, rel_tables, [i for i in indexes if META_LABEL not in (i.get("labelsOrTypes") or [])])

    async def apply_ddl(self, graph_id: str, statements: Sequence[str]) -> None:
        record = await self.graph_record(graph_id)
        await self.apply_plan(record, ddl_mod.plan(list(statements)))
        await self._write_record(record)

    # ---- data movement

    async def bulk_load(self, graph_id: str, table_name: str, data: pa.Table, *, ignore_errors: bool,
                        ) -> BulkLoadResult:
        from node_api.backends.neo4j.bulk import bulk_load

        validate_identifier(table_name, "table name")
        record = await self.graph_record(graph_id)
        result = await bulk_load(self, record, table_name, data, ignore_errors=ignore_errors)
        self._last_write[graph_id] = time.time()
        return result

    async def database_stats(self, graph_id: str) -> DatabaseStats:
        record = await self.graph_record(graph_id)
        rows = await self.run(record.database, StatementKind.READ,
                               f"MATCH (n) WHERE NOT n:{META_LABEL} RETURN count(n)", {}, 60.0)
        rels = await self.run(record.database, StatementKind.READ, "MATCH ()-[r]->() RETURN count(r)", {}, 60.0)
        last = self._last_write.get(graph_id)
        # Bolt reports no store size; 0 means "not known" (docs/neo4j-backend.md).
        return DatabaseStats(graph_id, 0, int(rows[0][0]), int(rels[0][0]),
                             datetime.fromtimestamp(last, UTC) if last else None)

    async def backup(self, graph_id: str, destination_dir: Path) -> dict[str, Any]:
        from node_api.backends.neo4j.backup import write_backup

        return await write_backup(self, await self.graph_record(graph_id), destination_dir)

    async def restore(self, graph_id: str, source_dir: Path, *, schema_type: str) -> DatabaseInfo:
        from node_api.backends.neo4j.backup import restore_backup

        return await restore_backup(self, graph_id, source_dir, schema_type=schema_type)

    # ---- not on this backend

    async def copy_from_s3(self, *_: Any, **__: Any) -> None:
        raise Unsupported("S3 COPY is Kuzu-specific; load data into Neo4j with the bulk load endpoint (Arrow)")

    async def staging_tables(self, *_: Any, **__: Any) -> None:
        raise Unsupported("DuckDB staging tables are Kuzu-specific and not available on the Neo4j backend")


_SHOW_INDEX_COLUMNS = ["id", "name", "state", "populationPercent", "type", "entityType", "labelsOrTypes",
                       "properties", "indexProvider", "owningConstraint", "lastRead", "readCount"]

