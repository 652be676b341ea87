"""rebuild=true: a fresh graph database from all staging tables, swapped in when complete.

The new database is built beside the live one (in the backend's `.creating/` area, a path nothing
serves), from the live database's schema, loading node tables first and then relationship tables.
Only when every table is in does the swap happen: the live handle closes (in-flight queries finish),
the staging directory moves into the new build, and the build directory replaces the graph
directory by rename. Any failure before the swap leaves the live graph untouched.

`rebuild_kuzu_database` reaches into KuzuBackend's internals (catalog, lifecycle lock, busy set,
handle cache). It belongs in the backend as `KuzuBackend.rebuild_database`; `rebuild_graph` uses that
method as soon as the backend has it.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import kuzu
import pyarrow as pa

from node_api.backends.base import GraphBackend, StatementKind
from node_api.backends.errors import Unsupported
from node_api.core.staging.errors import DataRejected
from node_api.core.staging.ingest import Prepared, Report, StagingTableSource, outcome, prepare
from node_api.core.staging.manager import STAGING_DIR, StagingManager
from node_api.core.staging.plan import build_plan

_COPIED = re.compile(r"(\d+) tuples have been copied")

Loads = Sequence[tuple[str, Callable[[], pa.Table]]]


async def rebuild_graph(
    backend: GraphBackend, staging: StagingManager, graph_id: str, *, ignore_errors: bool, report: Report
) -> dict[str, Any]:
    started = time.perf_counter()
    schema = await backend.schema(graph_id)
    db = await asyncio.to_thread(staging.database, graph_id)
    staged = {t.table_name.lower(): t for t in await asyncio.to_thread(db.list_tables)}
    tables = [t for t in schema.node_tables if t.name.lower() in staged] + [
        t for t in schema.rel_tables if t.name.lower() in staged
    ]
    graph_names = {t.name.lower() for t in [*schema.node_tables, *schema.rel_tables]}
    sources = {t.name: StagingTableSource(db, staged[t.name.lower()].table_name) for t in tables}
    # Every plan is checked before anything is built: a misfit fails fast.
    plans = {
        t.name: build_plan(schema, t, sources[t.name].columns(), ignore_errors=ignore_errors) for t in tables
    }
    prepared: dict[str, Prepared] = {}
    done_rows = 0

    def fetch(name: str) -> pa.Table:
        nonlocal done_rows
        report(message=f"reading {name}")
        item = prepare(sources[name], plans[name])
        # Keep the counts, not the rows: each table's Arrow data is dropped after its COPY.
        prepared[name] = replace(item, data=item.data.slice(0, 0))
        return item.data

    def on_loaded(name: str, rows: int) -> None:
        nonlocal done_rows
        done_rows += rows
        report(progress=10 + 85 * len(prepared) / max(1, len(tables)), rows_done=done_rows)

    loads = [(t.name, (lambda n=t.name: fetch(n))) for t in tables]
    rebuild = getattr(backend, "rebuild_database", None)
    if rebuild is None:
        from node_api.backends.kuzu.backend import KuzuBackend

        if not isinstance(backend, KuzuBackend):
            raise Unsupported(f"rebuild is not supported by the {backend.kind} backend")

        async def rebuild(*args: Any, **kwargs: Any) -> list[tuple[int, list[str]]]:
            return await rebuild_kuzu_database(backend, *args, **kwargs)

    results = await rebuild(
        graph_id,
        loads,
        ignore_errors=ignore_errors,
        keep=(STAGING_DIR,),
        before_swap=lambda: staging.close_graph(graph_id, pause=True),
        after_swap=lambda: staging.resume_graph(graph_id),
        on_loaded=on_loaded,
    )
    per_table = []
    for table, (loaded, warnings) in zip(tables, results, strict=True):
        item = prepared[table.name]
        row = outcome(graph_id, item, loaded, warnings, started)
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


async def rebuild_kuzu_database(
    backend: Any,
    graph_id: str,
    loads: Loads,
    *,
    ignore_errors: bool,
    keep: Sequence[str] = (),
    before_swap: Callable[[], None] | None = None,
    after_swap: Callable[[], None] | None = None,
    on_loaded: Callable[[str, int], None] | None = None,
) -> list[tuple[int, list[str]]]:
    """Reference implementation of `KuzuBackend.rebuild_database` (see the module docstring)."""
    from node_api.backends.kuzu.catalog import GRAPH_FILE, Catalog

    catalog = backend.catalog
    meta = backend._meta(graph_id)
    build_dir = await backend.runner.run(lambda: catalog.new_build_dir(graph_id))
    try:
        export_dir = build_dir / "schema-export"
        async with backend._connection(graph_id, StatementKind.READ) as (_handle, conn):
            # Kuzu 0.11.3 exports exact table/rel-group/multiplicity DDL (not DEFAULTs or comments).
            await backend.runner.run(
                lambda: conn.execute(f"EXPORT DATABASE '{export_dir}' (SCHEMA_ONLY=true)")
            )
        ddl = [s.strip() for s in (export_dir / "schema.cypher").read_text().split(";\n") if s.strip()]
        await backend.runner.run(lambda: shutil.rmtree(export_dir))
        settings = backend.settings

        def _build() -> list[tuple[int, list[str]]]:
            database = kuzu.Database(
                str(build_dir / GRAPH_FILE),
                buffer_pool_size=settings.memory_per_db_mb << 20,
                max_num_threads=settings.threads_per_db,
                max_db_size=settings.max_db_size_gb << 30,
            )
            try:
                conn = kuzu.Connection(database)
                try:
                    for statement in ddl:
                        conn.execute(statement)
                    return [_copy(conn, name, fetch, ignore_errors, on_loaded) for name, fetch in loads]
                finally:
                    conn.close()
            finally:
                database.close()

        results = await backend.runner.run(_build)
        await backend.runner.run(lambda: Catalog.write_meta(build_dir, meta))
        live_dir = catalog.graph_dir(graph_id)
        async with backend._lock(graph_id):
            backend._busy.add(graph_id)
            moved: list[str] = []
            try:
                await backend._close_handle(graph_id, interrupt=False)
                if before_swap:
                    before_swap()
                for name in keep:
                    if (live_dir / name).exists():
                        os.rename(live_dir / name, build_dir / name)
                        moved.append(name)
                try:
                    catalog.swap_in(build_dir, graph_id)
                except BaseException:
                    for name in moved:  # put the kept data back where the live graph expects it
                        os.rename(build_dir / name, live_dir / name)
                    raise
            finally:
                backend._busy.discard(graph_id)
                if after_swap:
                    after_swap()
        return results
    except BaseException:
        await backend.runner.run(lambda: shutil.rmtree(build_dir, ignore_errors=True))
        raise


def _copy(
    conn: kuzu.Connection,
    name: str,
    fetch: Callable[[], pa.Table],
    ignore_errors: bool,
    on_loaded: Callable[[str, int], None] | None,
) -> tuple[int, list[str]]:
    data = fetch()
    options = " (ignore_errors=true)" if ignore_errors else ""
    try:
        result = conn.execute(f"COPY `{name}` FROM $data{options}", {"data": data})
    except RuntimeError as exc:
        raise DataRejected(
            f"rebuild stopped at {name}; the live graph is unchanged: {exc}", table=name
        ) from None
    messages = [str(row[0]) for row in result.get_all()]
    result.close()
    loaded = next((int(m.group(1)) for m in map(_COPIED.search, messages) if m), 0)
    warnings: list[str] = []
    if loaded < data.num_rows:
        # show_warnings() keeps the warnings of earlier statements on the connection too (Kuzu
        # 0.11.3, measured): keep the newest query's only.
        warn = conn.execute("CALL show_warnings() RETURN query_id, message")
        rows = warn.get_all()
        warn.close()
        newest = max((r[0] for r in rows), default=None)
        warnings = [str(r[1]) for r in rows if r[0] == newest][:100]
    if on_loaded:
        on_loaded(name, loaded)
    return loaded, warnings
