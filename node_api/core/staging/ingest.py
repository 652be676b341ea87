"""Staged rows -> graph table, through Arrow and the backend's bulk_load (one Kuzu COPY).

One COPY per table keeps ingestion all-or-nothing: without ignore_errors any bad row fails the
whole load and the graph keeps exactly the rows it had. With ignore_errors, every row that does not
arrive is counted in one of three buckets (Neptune loader style), and
rows_received == rows_ingested + duplicates + parse_errors + insert_errors holds by construction
(checked before anything is loaded). Rows a load skips are also recorded one by one (file, row,
column, value; the first SAMPLE_ERRORS of each kind) in the task's paged errors.

Every source exposes its rows with two provenance columns, `__source_file` (index into its files,
NULL when unknown) and `__source_row`, so the first row per primary key is the first in file order,
and errors name the file and row a user can find. S3 copies know each row's file (DuckDB's
file_index / file_row_number); a staging table knows only the row's position in it (`rowid`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from node_api.backends.base import GraphBackend, GraphSchema, TableInfo
from node_api.backends.errors import InvalidQuery, QueryFailed
from node_api.core.staging.errors import DataRejected, SchemaMismatch, StagingInternalError, duckdb_reason
from node_api.core.staging.files import ParquetFile, SourceFiles, resolve
from node_api.core.staging.manager import StagingDatabase, read_in_batches
from node_api.core.staging.plan import IngestPlan, build_plan, find_table, q
from node_api.core.staging.sources import Source, classify_read_error

MAX_WARNINGS = 100
SAMPLE_ERRORS = 1000  # error records kept per kind (parse errors, duplicates) and table
READ_BATCH_ROWS = 100_000  # rows per progress step while reading for a load
_FILE, _ROW = "__source_file", "__source_row"
_ORDER = f"{_FILE}, {_ROW}"


class TaskReporter(Protocol):
    """What a load tells its task (core.tasks.TaskContext)."""

    def report(self, *, progress: float | None = ..., rows_done: int | None = ..., rows_total: int | None = ...,
               phase: str | None = ..., message: str | None = ...) -> None: ...
    def record_errors(self, records: Iterable[dict[str, Any]]) -> None: ...


class RowSource(Protocol):
    """Rows to load: a staging table, or Parquet files read directly."""

    label: str
    files: list[ParquetFile]
    traced: bool  # whether __source_file names each row's file

    def columns(self) -> list[tuple[str, str]]: ...
    def row_count(self) -> int: ...
    def relation(self) -> tuple[str, list[Any]]: ...
    def rows(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]: ...
    def arrow(self, sql: str, params: list[Any], on_rows: Callable[[int], None]) -> pa.Table: ...


class StagingTableSource:
    def __init__(self, db: StagingDatabase, table_name: str) -> None:
        staged = db.describe(table_name)  # StagingTableNotFound if absent
        self.db = db
        self.label = staged.table_name
        self.files = staged.files or []
        self.traced = False
        self._rows = staged.row_count
        self._columns = [(c["name"], c["type"]) for c in staged.columns]

    def columns(self) -> list[tuple[str, str]]:
        return self._columns

    def row_count(self) -> int:
        return self._rows

    def relation(self) -> tuple[str, list[Any]]:
        return f"(SELECT NULL::BIGINT AS {_FILE}, rowid AS {_ROW}, * FROM main.{q(self.label)})", []

    def rows(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        with self.db.readers.checkout() as cur:
            return cur.execute(sql, params).fetchall()

    def arrow(self, sql: str, params: list[Any], on_rows: Callable[[int], None]) -> pa.Table:
        return self.db.read_batches(sql, params, READ_BATCH_ROWS, on_rows)


class ParquetSource:
    """Parquet files read straight from S3 (or the dev root) by a locked reader (the /copy path),
    unified by name like a staged table (files.py)."""

    def __init__(self, reader: duckdb.DuckDBPyConnection, source: Source) -> None:
        self.reader = reader
        self.source = source
        self.label = source.pattern
        self.unified: SourceFiles = resolve(reader, source)
        self.files = self.unified.files
        self.traced = self.unified.traceable

    def columns(self) -> list[tuple[str, str]]:
        return self.unified.column_types()

    def row_count(self) -> int:
        return self.unified.rows

    def relation(self) -> tuple[str, list[Any]]:
        if self.traced:
            sql, params = self.unified.select(trace=True)
            return f"({sql})", params
        sql, params = self.unified.select()
        return f"(SELECT NULL::BIGINT AS {_FILE}, NULL::BIGINT AS {_ROW}, * FROM ({sql}))", params

    def rows(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        return self._reading(lambda: self.reader.execute(sql, params).fetchall())

    def arrow(self, sql: str, params: list[Any], on_rows: Callable[[int], None]) -> pa.Table:
        return self._reading(
            lambda: read_in_batches(self.reader.execute(sql, params), READ_BATCH_ROWS, on_rows)
        )

    def _reading(self, run: Callable[[], Any]) -> Any:
        try:
            return run()
        except (duckdb.ConversionException, duckdb.BinderException):
            raise  # a value or column that does not fit the graph table: prepare() words it
        except duckdb.Error as exc:
            raise classify_read_error(exc, self.source, [f.path for f in self.files]) from None


@dataclass
class Prepared:
    plan: IngestPlan
    data: pa.Table
    rows_received: int
    parse_errors: int
    duplicates: int
    sent: int  # rows handed to COPY
    files: list[dict[str, Any]]
    records: list[dict[str, Any]] = field(default_factory=list)


def prepare(source: RowSource, plan: IngestPlan, report: Callable[..., None]) -> Prepared:
    """Blocking: counts what ignore_errors would skip, per file, then reads the rows in COPY order
    (run it on a worker thread). Progress: phase "reading", rows read of rows_received, 0-50 %."""
    total = source.row_count()
    report(phase="reading", rows_done=0, rows_total=total, progress=0, message=f"reading {source.label}")
    relation, params = source.relation()
    parse_by_file: dict[int | None, int] = {}
    dups_by_file: dict[int | None, int] = {}
    records: list[dict[str, Any]] = []
    bad = plan.bad_row_condition() if plan.ignore_errors else None
    try:
        if bad:
            parse_by_file = _by_file(
                source, f"SELECT {_FILE}, count(*) FROM {relation} WHERE {bad} GROUP BY ALL", params
            )
            if parse_by_file:
                records += _parse_error_records(source, plan, relation, params)
        if plan.ignore_errors and plan.primary_key is not None:
            ranked = (
                f"(SELECT {_FILE}, {_ROW}, {q(_key_source(plan))} AS __key, {plan.key_rank(_ORDER)} AS __rank "
                f"FROM {relation}" + (f" WHERE NOT ({bad})" if bad else "") + ")"
            )
            dups_by_file = _by_file(
                source, f"SELECT {_FILE}, count(*) FROM {ranked} WHERE __rank > 1 GROUP BY ALL", params
            )
            if dups_by_file:
                records += _duplicate_records(source, plan, ranked, params)

        def on_rows(rows: int) -> None:
            report(rows_done=rows, progress=50 * rows / max(1, total))

        data = source.arrow(plan.select_sql(relation, _ORDER), params, on_rows)
    except duckdb.ConversionException as exc:
        raise SchemaMismatch(
            f"a staged value does not convert to {plan.table.name}'s column type "
            "(ignore_errors=true skips such rows and counts them)",
            table=plan.table.name,
            reason=duckdb_reason(exc),
        ) from None
    except duckdb.BinderException as exc:
        raise SchemaMismatch(
            f"staged columns cannot be cast to {plan.table.name}'s column types",
            table=plan.table.name,
            reason=duckdb_reason(exc),
        ) from None
    parse_errors, duplicates = sum(parse_by_file.values()), sum(dups_by_file.values())
    if total != data.num_rows + parse_errors + duplicates:
        raise StagingInternalError(
            f"{total} rows received but {data.num_rows} to load + {parse_errors} parse errors + "
            f"{duplicates} duplicates; nothing was loaded",
            table=plan.table.name,
        )
    files = [
        {"path": f.path, "rows": f.rows, "bytes": f.bytes}
        | (
            {"parse_errors": parse_by_file.get(i, 0), "duplicates": dups_by_file.get(i, 0)}
            if source.traced
            else {}
        )
        for i, f in enumerate(source.files)
    ]
    for record in records:
        index = record.pop("file_index", None)
        if index is not None:
            record["file"] = source.files[index].path
        record["table"] = plan.table.name
    return Prepared(plan, data, total, parse_errors, duplicates, data.num_rows, files, records)


def _by_file(source: RowSource, sql: str, params: list[Any]) -> dict[int | None, int]:
    return {row[0]: int(row[1]) for row in source.rows(sql, params) if row[1]}


def _key_source(plan: IngestPlan) -> str:
    return next(c.source for c in plan.columns if c.target == plan.primary_key)


def _parse_error_records(
    source: RowSource, plan: IngestPlan, relation: str, params: list[Any]
) -> list[dict[str, Any]]:
    parts = [
        f"SELECT {_FILE}, {_ROW}, {_literal(c.target)}, {_literal(c.cast_to)}, CAST({q(c.source)} AS VARCHAR) "
        f"FROM {relation} WHERE {q(c.source)} IS NOT NULL AND TRY_CAST({q(c.source)} AS {c.cast_to}) IS NULL"
        for c in plan.columns
        if c.cast_to
    ]
    sql = f"SELECT * FROM ({' UNION ALL '.join(parts)}) ORDER BY 1, 2 LIMIT {SAMPLE_ERRORS}"
    return [
        {
            "code": "parse_error",
            "file_index": file_index,
            "row": row,
            "column": column,
            "value": value,
            "message": f"{value!r} does not convert to {cast_to}",
        }
        for file_index, row, column, cast_to, value in source.rows(sql, params * len(parts))
    ]


def _duplicate_records(
    source: RowSource, plan: IngestPlan, ranked: str, params: list[Any]
) -> list[dict[str, Any]]:
    sql = f"SELECT {_FILE}, {_ROW}, CAST(__key AS VARCHAR) FROM {ranked} WHERE __rank > 1 ORDER BY 1, 2 LIMIT {SAMPLE_ERRORS}"
    return [
        {
            "code": "duplicate",
            "file_index": file_index,
            "row": row,
            "column": plan.primary_key,
            "value": key,
            "message": "the primary key repeats an earlier row (the first one is loaded)",
        }
        for file_index, row, key in source.rows(sql, params)
    ]


def _literal(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def plan_for(schema: GraphSchema, table_name: str, source: RowSource, *, ignore_errors: bool) -> IngestPlan:
    return build_plan(schema, find_table(schema, table_name), source.columns(), ignore_errors=ignore_errors)


def outcome(
    graph_id: str, prepared: Prepared, rows_loaded: int, warnings: list[str], started: float
) -> dict[str, Any]:
    insert_errors = prepared.sent - rows_loaded
    return {
        "status": "success",
        "graph_id": graph_id,
        "table_name": prepared.plan.table.name,
        "table_kind": prepared.plan.table.kind,
        "rows_received": prepared.rows_received,
        "rows_ingested": rows_loaded,
        "rows_skipped": prepared.rows_received - rows_loaded,
        "duplicates": prepared.duplicates,
        "parse_errors": prepared.parse_errors,
        "insert_errors": insert_errors,
        "warnings": warnings[:MAX_WARNINGS],
        "files": prepared.files,
        "execution_time_ms": round((time.perf_counter() - started) * 1000, 2),
    }


def insert_error_records(table: str, warnings: list[str]) -> list[dict[str, Any]]:
    return [{"code": "insert_error", "table": table, "message": w} for w in warnings]


async def load(
    backend: GraphBackend,
    graph_id: str,
    make_source: Callable[[], RowSource],
    table_name: str,
    *,
    ignore_errors: bool,
    task: TaskReporter,
) -> dict[str, Any]:
    """Plans, reads and COPYs one table into the live graph. Progress: "reading" (0-50 %, rows
    read), then "loading" (50-100 %: Kuzu's COPY reports nothing until it is done)."""
    started = time.perf_counter()
    schema = await backend.schema(graph_id)
    source = await asyncio.to_thread(make_source)
    plan = plan_for(schema, table_name, source, ignore_errors=ignore_errors)
    prepared = await asyncio.to_thread(prepare, source, plan, task.report)
    task.record_errors(prepared.records)
    task.report(
        phase="loading",
        rows_done=0,
        rows_total=prepared.sent,
        progress=50,
        message=f"loading {prepared.sent} rows into {plan.table.name}",
    )
    loaded, warnings = await bulk_load(
        backend, graph_id, plan.table, prepared.data, ignore_errors=ignore_errors
    )
    task.record_errors(insert_error_records(plan.table.name, warnings))
    task.report(rows_done=loaded, progress=100)
    return outcome(graph_id, prepared, loaded, warnings, started)


async def bulk_load(
    backend: GraphBackend, graph_id: str, table: TableInfo, data: pa.Table, *, ignore_errors: bool
) -> tuple[int, list[str]]:
    try:
        loaded = await backend.bulk_load(graph_id, table.name, data, ignore_errors=ignore_errors)
    except (QueryFailed, InvalidQuery) as exc:
        raise DataRejected(
            f"the graph refused the rows for {table.name}; nothing was loaded: {exc.message}",
            table=table.name,
        ) from None
    return loaded.rows_loaded, list(loaded.warnings)
