"""One DuckDB staging database per graph, in `{base}/{graph_id}/staging/staging.duckdb`.

Lock-down (engine facts, DuckDB 1.5): the instance is opened with `enable_external_access=false`,
which refuses every file/URL the SQL names (read_csv, ATTACH, COPY TO, EXPORT, glob, s3://...) and
extension INSTALL/LOAD; `lock_configuration=true` then refuses SET/RESET/PRAGMA-setters. Data still
enters through Arrow objects the node registers on a cursor (not a file access). Tenant SQL is one
statement, parsed by DuckDB itself, of type SELECT/EXPLAIN, run inside `BEGIN TRANSACTION READ ONLY`
on a pooled cursor, interrupted at its deadline.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from node_api.backends.errors import DatabaseBusy
from node_api.core.staging.errors import (
    StagingQueryFailed,
    StagingQueryRejected,
    StagingQueryTimeout,
    StagingTableNotFound,
)
from node_api.core.staging.extensions import BASE_CONFIG
from node_api.core.staging.pool import CursorPool
from node_api.core.staging.settings import StagingSettings
from node_api.core.staging.sources import (
    S3Credentials,
    open_reader,
    parse_source,
    translate_read_error,
)
from node_api.security.paths import graph_dir, validate_identifier

STAGING_DIR = "staging"
STAGING_FILE = "staging.duckdb"
_META = "_staging_meta.tables"
_READ_ONLY_TYPES = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


@dataclass(frozen=True)
class StagedTable:
    table_name: str
    row_count: int
    size_bytes: int
    s3_location: str
    columns: list[dict[str, str]]
    created_at: datetime


def quote(name: str) -> str:
    """Identifiers are validated before they get here; quoting keeps keywords (e.g. "from") usable."""
    return '"' + name.replace('"', '""') + '"'


class StagingDatabase:
    """The staging database of one graph: a write lock for DDL/loads and a pool of read cursors."""

    def __init__(self, path: Path, settings: StagingSettings) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        config = dict(
            BASE_CONFIG,
            threads=str(settings.duckdb_threads),
            memory_limit=settings.duckdb_memory_limit,
            enable_external_access="false",
            lock_configuration="true",
        )
        self.path = path
        self._settings = settings
        self._db = duckdb.connect(str(path), config=config)
        self._inode = path.stat().st_ino
        self._write_lock = threading.Lock()
        with self._write_lock:
            self._db.execute("CREATE SCHEMA IF NOT EXISTS _staging_meta")
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {_META} (key VARCHAR PRIMARY KEY, table_name VARCHAR, "
                "s3_location VARCHAR, row_count BIGINT, size_bytes BIGINT, created_at TIMESTAMPTZ)"
            )
        self.readers = CursorPool(self._db, settings.read_pool_size)

    def still_on_disk(self) -> bool:
        try:
            return self.path.stat().st_ino == self._inode
        except FileNotFoundError:
            return False

    def close(self) -> None:
        with self._write_lock:
            self.readers.close()
            self._db.close()

    # ---- writes (serialized per graph)
    def replace_table(
        self, table_name: str, data: pa.RecordBatchReader, s3_location: str, size_of: Callable[[], int]
    ) -> StagedTable:
        """Swaps the table in one transaction: on any error the previous version stays.

        size_bytes is the Arrow (uncompressed, in-memory) size of the staged rows: DuckDB only knows
        a table's on-disk blocks after a CHECKPOINT, which cannot run beside open transactions.
        """
        with self._write_lock:
            cur = self._db.cursor()
            try:
                cur.register("__incoming", data)
                cur.execute("BEGIN TRANSACTION")
                try:
                    cur.execute(
                        f"CREATE OR REPLACE TABLE main.{quote(table_name)} AS SELECT * FROM __incoming"
                    )
                    row_count = cur.execute(f"SELECT count(*) FROM main.{quote(table_name)}").fetchone()[0]  # type: ignore[index]
                    cur.execute(
                        f"INSERT OR REPLACE INTO {_META} VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            table_name.lower(),
                            table_name,
                            s3_location,
                            row_count,
                            size_of(),
                            datetime.now(UTC),
                        ],
                    )
                    cur.execute("COMMIT")
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
            finally:
                cur.close()
        return self.describe(table_name)

    def drop_table(self, table_name: str) -> None:
        with self._write_lock:
            cur = self._db.cursor()
            try:
                if not self._exists(cur, table_name):
                    raise StagingTableNotFound(
                        f"staging table {table_name!r} does not exist", table_name=table_name
                    )
                cur.execute("BEGIN TRANSACTION")
                cur.execute(f"DROP TABLE main.{quote(table_name)}")
                cur.execute(f"DELETE FROM {_META} WHERE key = ?", [table_name.lower()])
                cur.execute("COMMIT")
            finally:
                cur.close()

    # ---- reads
    @staticmethod
    def _exists(cur: duckdb.DuckDBPyConnection, table_name: str) -> bool:
        row = cur.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND lower(table_name) = lower(?)",
            [table_name],
        ).fetchone()
        return bool(row and row[0])

    def list_tables(self) -> list[StagedTable]:
        with self.readers.checkout() as cur:
            names = [
                r[0]
                for r in cur.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY table_name"
                ).fetchall()
            ]
        return [self.describe(n) for n in names]

    def describe(self, table_name: str) -> StagedTable:
        with self.readers.checkout() as cur:
            if not self._exists(cur, table_name):
                raise StagingTableNotFound(
                    f"staging table {table_name!r} does not exist", table_name=table_name
                )
            columns = [
                {"name": r[0], "type": r[1]}
                for r in cur.execute(
                    "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' "
                    "AND lower(table_name) = lower(?) ORDER BY column_index",
                    [table_name],
                ).fetchall()
            ]
            meta = cur.execute(
                f"SELECT table_name, s3_location, row_count, size_bytes, created_at FROM {_META} WHERE key = ?",
                [table_name.lower()],
            ).fetchone()
        if meta is None:  # created outside the manager (should not happen): still describe it
            meta = (table_name, "", 0, 0, datetime.now(UTC))
        return StagedTable(
            table_name=meta[0],
            row_count=int(meta[2]),
            size_bytes=int(meta[3]),
            s3_location=meta[1],
            columns=columns,
            created_at=meta[4],
        )

    def read_arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Node-built SQL (never tenant SQL) over the staging tables, as one Arrow table."""
        with self.readers.checkout() as cur:
            cur.execute("BEGIN TRANSACTION READ ONLY")
            try:
                return cur.execute(sql, params or []).to_arrow_table()
            finally:
                cur.execute("ROLLBACK")

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        with self.readers.checkout() as cur:
            row = cur.execute(sql, params or []).fetchone()
            return None if row is None else row[0]

    @contextmanager
    def tenant_query(self, sql: str, timeout_s: float) -> Iterator[duckdb.DuckDBPyConnection]:
        """Runs tenant SQL read-only; yields the cursor positioned on its result."""
        statements = check_tenant_sql(sql, self._settings.max_sql_length)
        with self.readers.checkout() as cur:
            # The deadline covers execution and fetching; interrupt() stops DuckDB mid-query.
            timer = threading.Timer(timeout_s, cur.interrupt)
            timer.daemon = True
            cur.execute("BEGIN TRANSACTION READ ONLY")
            timer.start()
            try:
                try:
                    cur.execute(statements)
                except duckdb.InterruptException:
                    raise StagingQueryTimeout(f"staging query exceeded {timeout_s:g}s") from None
                except (duckdb.PermissionException, duckdb.TransactionException) as exc:
                    raise StagingQueryRejected(_first_line(exc)) from None
                except duckdb.InvalidInputException as exc:
                    if "configuration" in str(exc):
                        raise StagingQueryRejected(_first_line(exc)) from None
                    raise StagingQueryFailed(_first_line(exc)) from None
                except duckdb.Error as exc:
                    raise StagingQueryFailed(_first_line(exc)) from None
                yield cur
            except duckdb.InterruptException:
                raise StagingQueryTimeout(f"staging query exceeded {timeout_s:g}s") from None
            finally:
                timer.cancel()
                # Also after an interrupt: the cursor goes back to the pool with no transaction open.
                try:
                    cur.execute("ROLLBACK")
                except duckdb.Error:
                    pass


def _first_line(exc: BaseException) -> str:
    return str(exc).split("\n\nLINE", 1)[0].strip()


def check_tenant_sql(sql: str, max_length: int) -> str:
    """One SELECT/EXPLAIN statement, as DuckDB's own parser sees it."""
    if not sql or not sql.strip():
        raise StagingQueryFailed("sql is empty")
    if len(sql) > max_length:
        raise StagingQueryFailed(f"sql longer than {max_length} characters")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise StagingQueryFailed(_first_line(exc)) from None
    if len(statements) != 1:
        raise StagingQueryRejected("exactly one SQL statement is allowed")
    if statements[0].type not in _READ_ONLY_TYPES:
        raise StagingQueryRejected(
            f"only read-only SELECT statements are allowed, not {statements[0].type.name}"
        )
    return sql


class StagingManager:
    """Opens each graph's staging database on first use and keeps it until closed or dropped."""

    def __init__(self, base_path: Path, settings: StagingSettings) -> None:
        self.base_path = base_path
        self.settings = settings
        self._databases: dict[str, StagingDatabase] = {}
        self._paused: set[str] = set()
        self._lock = threading.Lock()

    def staging_dir(self, graph_id: str) -> Path:
        return graph_dir(self.base_path, graph_id) / STAGING_DIR

    def database(self, graph_id: str) -> StagingDatabase:
        with self._lock:
            if graph_id in self._paused:
                raise DatabaseBusy(f"database {graph_id} is being rebuilt; retry shortly", graph_id=graph_id)
            db = self._databases.get(graph_id)
            if db is not None and not db.still_on_disk():
                # The graph directory was deleted or replaced under us (database deleted/restored).
                self._databases.pop(graph_id)
                db.close()
                db = None
            if db is None:
                db = StagingDatabase(self.staging_dir(graph_id) / STAGING_FILE, self.settings)
                self._databases[graph_id] = db
            return db

    def close_graph(self, graph_id: str, *, remove: bool = False, pause: bool = False) -> None:
        """Before the graph's directory is deleted or replaced; `remove` also deletes the staging data,
        `pause` refuses to reopen it (DatabaseBusy) until resume_graph."""
        with self._lock:
            if pause:
                self._paused.add(graph_id)
            db = self._databases.pop(graph_id, None)
        if db is not None:
            db.close()
        if remove:
            shutil.rmtree(self.staging_dir(graph_id), ignore_errors=True)

    def resume_graph(self, graph_id: str) -> None:
        with self._lock:
            self._paused.discard(graph_id)

    # The backend's DatabaseListener: let go of a graph's staging database while its directory is
    # replaced (rebuild, restore: the staging data is carried across) or deleted.
    def before_replace(self, graph_id: str) -> None:
        self.close_graph(graph_id, pause=True)

    def after_replace(self, graph_id: str) -> None:
        self.resume_graph(graph_id)

    def before_delete(self, graph_id: str) -> None:
        self.close_graph(graph_id)

    def close(self) -> None:
        with self._lock:
            databases, self._databases = list(self._databases.values()), {}
        for db in databases:
            db.close()

    def create_table(
        self,
        graph_id: str,
        table_name: str,
        s3_pattern: str,
        credentials: S3Credentials | None = None,
        on_rows: Callable[[int], None] | None = None,
    ) -> StagedTable:
        validate_identifier(table_name, "table_name")
        source = parse_source(s3_pattern, self.settings, own_credentials=credentials is None)
        reader = open_reader(source, self.settings, credentials)
        try:
            try:
                stream = reader.execute("SELECT * FROM read_parquet(?)", [source.pattern]).to_arrow_reader(
                    self.settings.arrow_batch_rows
                )
            except duckdb.Error as exc:
                raise translate_read_error(exc, source) from None
            counted, size_of = _counting(stream, on_rows)
            try:
                return self.database(graph_id).replace_table(table_name, counted, s3_pattern, size_of)
            except duckdb.Error as exc:
                raise translate_read_error(exc, source) from None
        finally:
            reader.close()


def _counting(
    stream: pa.RecordBatchReader, on_rows: Callable[[int], None] | None
) -> tuple[pa.RecordBatchReader, Callable[[], int]]:
    rows = size = 0
    last = time.monotonic()

    def batches() -> Iterator[pa.RecordBatch]:
        nonlocal rows, size, last
        for batch in stream:
            rows += batch.num_rows
            size += batch.nbytes
            if on_rows and time.monotonic() - last > 0.25:
                on_rows(rows)
                last = time.monotonic()
            yield batch
        if on_rows:
            on_rows(rows)

    return pa.RecordBatchReader.from_batches(stream.schema, batches()), lambda: size
