"""One DuckDB staging database per graph, in `{base}/{graph_id}/staging/staging.duckdb`.

Lock-down (engine facts, DuckDB 1.5): the instance is opened with `enable_external_access=false`,
which refuses every file/URL the SQL names (read_csv, ATTACH, COPY TO, EXPORT, glob, s3://...) and
extension INSTALL/LOAD; `lock_configuration=true` then refuses SET/RESET/PRAGMA-setters. Data still
enters through Arrow objects the node registers on a cursor (not a file access). Tenant SQL goes
through query.py (policy check, read-only transaction, deadline) on a cursor of `readers`.

Besides the tables, `_staging_meta` records each table's source pattern, counts and its files
(path, rows, bytes, in path order), written in the same transaction as the table.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from node_api.backends.errors import DatabaseBusy
from node_api.core.staging.errors import StagingInternalError, StagingTableNotFound
from node_api.core.staging.extensions import BASE_CONFIG, DuckDBConfig
from node_api.core.staging.files import ParquetFile, resolve
from node_api.core.staging.pool import CursorPool
from node_api.core.staging.settings import StagingSettings
from node_api.core.staging.sources import (
    S3Credentials,
    classify_read_error,
    open_reader,
    parse_source,
)
from node_api.security.paths import graph_dir, validate_identifier

STAGING_DIR = "staging"
STAGING_FILE = "staging.duckdb"
_META = "_staging_meta.tables"
_FILES = "_staging_meta.files"

Progress = Callable[[int, int], None]  # (rows done, rows total)


@dataclass(frozen=True)
class StagedTable:
    table_name: str
    row_count: int
    size_bytes: int
    s3_location: str
    columns: list[dict[str, str]]
    created_at: datetime
    file_count: int
    files: list[ParquetFile] | None = None  # None: not loaded (listings)


def quote(name: str) -> str:
    """Identifiers are validated before they get here; quoting keeps keywords (e.g. "from") usable."""
    return '"' + name.replace('"', '""') + '"'


class StagingDatabase:
    """The staging database of one graph: a write lock for DDL/loads and a pool of read cursors."""

    def __init__(self, path: Path, settings: StagingSettings) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        config: DuckDBConfig = dict(
            BASE_CONFIG,
            threads=str(settings.duckdb_threads),
            memory_limit=settings.duckdb_memory_limit,
            enable_external_access="false",
            # No spilling: DuckDB's default `<db>.tmp` is on the node's volume, so a tenant's read-only
            # SQL (a large GROUP BY) wrote ~300 MB of spill there, floor or not (core/disk.py), and
            # max_temp_directory_size did not bound it (DuckDB 1.5.5, measured: 0B and 1MB both let
            # it spill ~300 MB). Past duckdb_memory_limit a statement answers memory_limit_exceeded.
            temp_directory="",
            lock_configuration="true",
        )
        self.path = path
        self.settings = settings
        self._db = duckdb.connect(str(path), config=config)
        self._inode = path.stat().st_ino
        self._write_lock = threading.Lock()
        with self._write_lock:
            self._db.execute("CREATE SCHEMA IF NOT EXISTS _staging_meta")
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {_META} (key VARCHAR PRIMARY KEY, table_name VARCHAR, "
                "s3_location VARCHAR, row_count BIGINT, size_bytes BIGINT, created_at TIMESTAMPTZ)"
            )
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {_FILES} (key VARCHAR, position INTEGER, path VARCHAR, "
                "rows BIGINT, bytes BIGINT)"
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
        self,
        table_name: str,
        data: pa.RecordBatchReader,
        s3_location: str,
        files: Sequence[ParquetFile],
        size_of: Callable[[], int],
    ) -> StagedTable:
        """Swaps the table in one transaction: on any error the previous version stays.

        The rows staged must be exactly the rows the files' footers declare, or nothing is kept.
        size_bytes is the Arrow (uncompressed, in-memory) size of the staged rows: DuckDB only knows
        a table's on-disk blocks after a CHECKPOINT, which cannot run beside open transactions.
        """
        key = table_name.lower()
        expected = sum(f.rows for f in files)
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
                    if row_count != expected:
                        raise StagingInternalError(
                            f"staged {row_count} rows where the files hold {expected}; nothing was kept",
                            table_name=table_name,
                        )
                    cur.execute(
                        f"INSERT OR REPLACE INTO {_META} VALUES (?, ?, ?, ?, ?, ?)",
                        [key, table_name, s3_location, row_count, size_of(), datetime.now(UTC)],
                    )
                    cur.execute(f"DELETE FROM {_FILES} WHERE key = ?", [key])
                    cur.executemany(
                        f"INSERT INTO {_FILES} VALUES (?, ?, ?, ?, ?)",
                        [[key, i, f.path, f.rows, f.bytes] for i, f in enumerate(files)],
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
                cur.execute(f"DELETE FROM {_FILES} WHERE key = ?", [table_name.lower()])
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

    def table_names(self) -> list[str]:
        with self.readers.checkout() as cur:
            return self._names(cur)

    def list_tables(self) -> list[StagedTable]:
        with self.readers.checkout() as cur:
            return [self._describe(cur, name, with_files=False) for name in self._names(cur)]

    def describe(self, table_name: str) -> StagedTable:
        with self.readers.checkout() as cur:
            if not self._exists(cur, table_name):
                raise StagingTableNotFound(
                    f"staging table {table_name!r} does not exist", table_name=table_name
                )
            return self._describe(cur, table_name, with_files=True)

    @staticmethod
    def _names(cur: duckdb.DuckDBPyConnection) -> list[str]:
        return [
            r[0]
            for r in cur.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY table_name"
            ).fetchall()
        ]

    @staticmethod
    def _describe(cur: duckdb.DuckDBPyConnection, table_name: str, *, with_files: bool) -> StagedTable:
        key = table_name.lower()
        columns = [
            {"name": r[0], "type": r[1]}
            for r in cur.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' "
                "AND lower(table_name) = ? ORDER BY column_index",
                [key],
            ).fetchall()
        ]
        meta = cur.execute(
            f"SELECT table_name, s3_location, row_count, size_bytes, created_at FROM {_META} WHERE key = ?",
            [key],
        ).fetchone()
        if meta is None:  # created outside the manager (should not happen): still describe it
            meta = (table_name, "", 0, 0, datetime.now(UTC))
        files = None
        if with_files:
            files = [
                ParquetFile(r[0], int(r[1]), int(r[2]))
                for r in cur.execute(
                    f"SELECT path, rows, bytes FROM {_FILES} WHERE key = ? ORDER BY position", [key]
                ).fetchall()
            ]
            file_count = len(files)
        else:
            file_count = int(cur.execute(f"SELECT count(*) FROM {_FILES} WHERE key = ?", [key]).fetchone()[0])  # type: ignore[index]
        return StagedTable(
            table_name=meta[0],
            row_count=int(meta[2]),
            size_bytes=int(meta[3]),
            s3_location=meta[1],
            columns=columns,
            created_at=meta[4],
            file_count=file_count,
            files=files,
        )

    def read_arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Node-built SQL (never tenant SQL) over the staging tables, as one Arrow table."""
        with self.readers.checkout() as cur:
            cur.execute("BEGIN TRANSACTION READ ONLY")
            try:
                return cur.execute(sql, params or []).to_arrow_table()
            finally:
                cur.execute("ROLLBACK")

    def read_batches(
        self, sql: str, params: list[Any], batch_rows: int, on_rows: Callable[[int], None]
    ) -> pa.Table:
        """Node-built SQL, read in batches of `batch_rows`, calling on_rows(rows so far) after each."""
        with self.readers.checkout() as cur:
            cur.execute("BEGIN TRANSACTION READ ONLY")
            try:
                return read_in_batches(cur.execute(sql, params), batch_rows, on_rows)
            finally:
                cur.execute("ROLLBACK")

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        with self.readers.checkout() as cur:
            row = cur.execute(sql, params or []).fetchone()
            return None if row is None else row[0]


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
        on_progress: Progress | None = None,
    ) -> StagedTable:
        """Blocking: the files the pattern names, unified (files.py), staged as one table.
        Raises the read errors of sources.classify_read_error and SchemaMismatch."""
        validate_identifier(table_name, "table_name")
        source = parse_source(s3_pattern, self.settings, own_credentials=credentials is None)
        reader = open_reader(source, self.settings, credentials, duckdb_to_duckdb=True)
        try:
            files = resolve(reader, source)
            if on_progress:
                on_progress(0, files.rows)
            paths = [f.path for f in files.files]
            sql, params = files.select()
            stream = _Counted(files.rows, on_progress)
            try:
                batches = reader.execute(sql, params).to_arrow_reader(self.settings.arrow_batch_rows)
                return self.database(graph_id).replace_table(
                    table_name, stream.wrap(batches), s3_pattern, files.files, stream.size
                )
            except duckdb.Error as exc:
                # An error of the reading side surfaces in the staging database as an Arrow scan
                # error: classify the reader's own exception when there is one.
                cause = stream.failure or exc
                if isinstance(cause, duckdb.ConversionException):
                    raise files.conversion_mismatch(cause) from None
                raise classify_read_error(cause, source, paths) from None
        finally:
            reader.close()


def read_in_batches(
    result: duckdb.DuckDBPyConnection, batch_rows: int, on_rows: Callable[[int], None]
) -> pa.Table:
    """A query's result as one Arrow table, reporting rows as the batches arrive."""
    reader = result.to_arrow_reader(batch_rows)
    batches, rows = [], 0
    for batch in reader:
        batches.append(batch)
        rows += batch.num_rows
        on_rows(rows)
    return pa.Table.from_batches(batches, reader.schema)


class _Counted:
    """Counts rows and Arrow bytes of a batch stream as it goes, reporting progress at most every
    0.25 s, and keeps the reader's own error if the stream fails."""

    def __init__(self, total: int, on_progress: Progress | None) -> None:
        self.total = total
        self.rows = 0
        self.bytes = 0
        self.failure: duckdb.Error | None = None
        self._on_progress = on_progress

    def size(self) -> int:
        return self.bytes

    def wrap(self, stream: pa.RecordBatchReader) -> pa.RecordBatchReader:
        def batches() -> Iterator[pa.RecordBatch]:
            last = time.monotonic()
            try:
                for batch in stream:
                    self.rows += batch.num_rows
                    self.bytes += batch.nbytes
                    if self._on_progress and time.monotonic() - last > 0.25:
                        self._on_progress(self.rows, self.total)
                        last = time.monotonic()
                    yield batch
            except duckdb.Error as exc:
                self.failure = exc
                raise
            if self._on_progress:
                self._on_progress(self.rows, self.total)

        return pa.RecordBatchReader.from_batches(stream.schema, batches())
