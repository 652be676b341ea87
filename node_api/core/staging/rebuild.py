"""rebuild=true: a fresh graph database from all staging tables, swapped in when complete.

The new database is built beside the live one (in the backend's `.creating/` area, a path nothing
serves), from the live database's schema, loading node tables first and then relationship tables.
Only when every table is in does the swap happen: the live handle closes (in-flight queries finish),
the staging directory moves into the new build, and the build directory replaces the graph
directory by rename. Any failure before the swap leaves the live graph untouched.

The build and the swap are the backend's (`KuzuBackend.rebuild_database`); this module decides
what goes in: every staging table that matches a graph table, checked against the schema first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import pyarrow as pa

from node_api.backends.base import GraphBackend
from node_api.backends.errors import QueryFailed, Unsupported
from node_api.core.staging.errors import DataRejected
from node_api.core.staging.ingest import (
    Prepared,
    StagingTableSource,
    TaskReporter,
    insert_error_records,
    outcome,
    prepare,
)
from node_api.core.staging.manager import StagingManager
from node_api.core.staging.plan import build_plan

Loads = Sequence[tuple[str, Callable[[], pa.Table]]]


async def rebuild_graph(
    backend: GraphBackend, staging: StagingManager, graph_id: str, *, ignore_errors: bool, task: TaskReporter
) -> dict[str, Any]:
    """Progress: phase "rebuilding", rows loaded of all staged rows, 0-95 %, then the swap."""
    started = time.perf_counter()
    schema = await backend.schema(graph_id)
    db = await asyncio.to_thread(staging.database, graph_id)
    staged = {t.table_name.lower(): t for t in await asyncio.to_thread(db.list_tables)}
    tables = [t for t in schema.node_tables if t.name.lower() in staged] + [
        t for t in schema.rel_tables if t.name.lower() in staged
    ]
    graph_names = {t.name.lower() for t in [*schema.node_tables, *schema.rel_tables]}
    sources = {
        t.name: await asyncio.to_thread(StagingTableSource, db, staged[t.name.lower()].table_name) for t in tables
    }
    # Every plan is checked before anything is built: a misfit fails fast.
    plans = {
        t.name: build_plan(schema, t, sources[t.name].columns(), ignore_errors=ignore_errors) for t in tables
    }
    total = sum(staged[t.name.lower()].row_count for t in tables)
    prepared: dict[str, Prepared] = {}
    done_rows = 0
    task.report(phase="rebuilding", rows_done=0, rows_total=total, progress=0)

    def quiet(**changes: Any) -> None:
        # A table's own reading progress would reset the rebuild's counts: keep its message only.
        if "message" in changes:
            task.report(message=changes["message"])

    def fetch(name: str) -> pa.Table:
        item = prepare(sources[name], plans[name], quiet)
        task.record_errors(item.records)
        # Keep the counts, not the rows: each table's Arrow data is dropped after its COPY.
        prepared[name] = replace(item, data=item.data.slice(0, 0))
        task.report(message=f"loading {name}")
        return item.data

    def on_loaded(name: str, rows: int) -> None:
        nonlocal done_rows
        done_rows += rows
        task.report(rows_done=done_rows, progress=95 * done_rows / max(1, total))

    loads = [(t.name, (lambda n=t.name: fetch(n))) for t in tables]
    rebuild = getattr(backend, "rebuild_database", None)
    if rebuild is None:
        raise Unsupported(f"rebuild is not supported by the {backend.kind} backend")
    try:
        results = await rebuild(graph_id, loads, ignore_errors=ignore_errors, on_loaded=on_loaded)
    except QueryFailed as exc:
        raise DataRejected(exc.message, **exc.details) from None
    per_table = []
    for table, (loaded, warnings) in zip(tables, results, strict=True):
        task.record_errors(insert_error_records(table.name, warnings))
        row = outcome(graph_id, prepared[table.name], loaded, warnings, started)
        for key in ("status", "graph_id", "execution_time_ms"):
            row.pop(key)
        per_table.append(row)
    return {
        "status": "success",
        "graph_id": graph_id,
        "rebuild": True,
        "tables": per_table,
        "rows_received": sum(r["rows_received"] for r in per_table),
        "rows_ingested": sum(r["rows_ingested"] for r in per_table),
        "rows_skipped": sum(r["rows_skipped"] for r in per_table),
        "graph_tables_left_empty": sorted(
            t.name for t in [*schema.node_tables, *schema.rel_tables] if t.name.lower() not in staged
        ),
        "staging_tables_not_in_graph": sorted(
            t.table_name for k, t in staged.items() if k not in graph_names
        ),
        "execution_time_ms": round((time.perf_counter() - started) * 1000, 2),
    }
