"""Staged rows -> graph table, through Arrow and the backend's bulk_load (one Kuzu COPY).

One COPY per table keeps ingestion all-or-nothing: without ignore_errors any bad row fails the
whole load and the graph keeps exactly the rows it had. With ignore_errors, every row that does not
arrive is counted in one of three buckets (Neptune loader style), and
rows_received == rows_ingested + duplicates + parse_errors + insert_errors holds by construction.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from node_api.backends.base import GraphBackend, GraphSchema, TableInfo
from node_api.backends.errors import InvalidQuery, QueryFailed
from node_api.core.staging.errors import DataRejected, SchemaMismatch
from node_api.core.staging.manager import StagingDatabase
from node_api.core.staging.plan import IngestPlan, build_plan, find_table, q
from node_api.core.staging.sources import Source, translate_read_error

Report = Callable[..., None]  # TaskContext.report(progress=..., rows_done=..., message=...)
MAX_WARNINGS = 100


class RowSource(Protocol):
    """A DuckDB relation the plan selects from: a staging table, or Parquet files read directly."""

    label: str
    from_clause: str

    def columns(self) -> list[tuple[str, str]]: ...
    def count(self, where: str | None = None) -> int: ...
    def arrow(self, sql: str) -> pa.Table: ...


class StagingTableSource:
    def __init__(self, db: StagingDatabase, table_name: str) -> None:
        staged = db.describe(table_name)  # StagingTableNotFound if absent
        self.db = db
        self.label = staged.table_name
        self.from_clause = f"main.{q(staged.table_name)}"
        self._columns = [(c["name"], c["type"]) for c in staged.columns]

    def columns(self) -> list[tuple[str, str]]:
        return self._columns

    def count(self, where: str | None = None) -> int:
        return int(
            self.db.scalar(f"SELECT count(*) FROM {self.from_clause}" + (f" WHERE {where}" if where else ""))
        )

    def arrow(self, sql: str) -> pa.Table:
        return self.db.read_arrow(sql)


class ParquetSource:
    """Parquet files read straight from S3 by a locked reader connection (the /copy path)."""

    def __init__(self, reader: duckdb.DuckDBPyConnection, source: Source) -> None:
        self.reader = reader
        self.source = source
        self.label = source.pattern
        # parse_source refuses quotes, so the pattern is a safe literal.
        self.from_clause = f"read_parquet('{source.pattern}')"
        try:
            described = reader.execute(f"DESCRIBE SELECT * FROM {self.from_clause}").fetchall()
        except duckdb.Error as exc:
            raise translate_read_error(exc, source) from None
        self._columns = [(str(r[0]), str(r[1])) for r in described]

    def columns(self) -> list[tuple[str, str]]:
        return self._columns

    def count(self, where: str | None = None) -> int:
        sql = f"SELECT count(*) FROM {self.from_clause}" + (f" WHERE {where}" if where else "")
        try:
            return int(self.reader.execute(sql).fetchone()[0])  # type: ignore[index]
        except (duckdb.ConversionException, duckdb.BinderException):
            raise
        except duckdb.Error as exc:
            raise translate_read_error(exc, self.source) from None

    def arrow(self, sql: str) -> pa.Table:
        try:
            return self.reader.execute(sql).to_arrow_table()
        except (duckdb.ConversionException, duckdb.BinderException):
            raise
        except duckdb.Error as exc:
            raise translate_read_error(exc, self.source) from None


@dataclass
class Prepared:
    plan: IngestPlan
    data: pa.Table
    rows_received: int
    parse_errors: int
    sent: int  # rows handed to COPY

    @property
    def duplicates(self) -> int:
        return self.rows_received - self.parse_errors - self.sent


def prepare(source: RowSource, plan: IngestPlan) -> Prepared:
    """Blocking: counts and reads the rows in COPY order (run it on a worker thread)."""
    total = source.count()
    bad = plan.bad_row_condition() if plan.ignore_errors else None
    parse_errors = source.count(bad) if bad else 0
    try:
        data = source.arrow(plan.select_sql(source.from_clause))
    except duckdb.ConversionException as exc:
        message = str(exc).split("\n\nLINE", 1)[0]
        raise SchemaMismatch(
            f"a staged value does not convert to {plan.table.name}'s column type: {message} "
            "(ignore_errors=true skips such rows and counts them)",
            table=plan.table.name,
        ) from None
    except duckdb.BinderException as exc:
        raise SchemaMismatch(f"staged columns cannot be cast for {plan.table.name}: {exc}") from None
    return Prepared(plan, data, total, parse_errors, data.num_rows)


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
        "execution_time_ms": round((time.perf_counter() - started) * 1000, 2),
    }


async def load(
    backend: GraphBackend,
    graph_id: str,
    make_source: Callable[[], RowSource],
    table_name: str,
    *,
    ignore_errors: bool,
    report: Report,
) -> dict[str, Any]:
    """Plans, reads and COPYs one table into the live graph."""
    started = time.perf_counter()
    schema = await backend.schema(graph_id)
    source = await asyncio.to_thread(make_source)
    plan = plan_for(schema, table_name, source, ignore_errors=ignore_errors)
    report(progress=5, message=f"reading {source.label}")
    prepared = await asyncio.to_thread(prepare, source, plan)
    report(progress=50, rows_done=prepared.data.num_rows, message=f"loading {plan.table.name}")
    result = await bulk_load(backend, graph_id, plan.table, prepared.data, ignore_errors=ignore_errors)
    report(progress=100, rows_done=result[0])
    return outcome(graph_id, prepared, result[0], result[1], started)


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


RebuildLoad = tuple[str, Callable[[], pa.Table]]
RebuildFn = Callable[..., Awaitable[list[tuple[int, list[str]]]]]
