"""Rebuild: a fresh database from the live one's schema and new data, swapped in when complete.

The build happens beside the live database (`.creating/`, a path nothing serves), from the live
schema exported with `EXPORT DATABASE (SCHEMA_ONLY=true)` — Kuzu 0.11.3 exports exact table,
rel-group and multiplicity DDL, but not DEFAULTs or comments. Tables load in the order given (node
tables before relationship tables). Only when every table is in does the backend swap it in
(`KuzuBackend.replace_database`); any failure before leaves the live database untouched.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import kuzu
import pyarrow as pa

from node_api.backends.base import StatementKind
from node_api.backends.errors import QueryFailed
from node_api.backends.kuzu.catalog import GRAPH_FILE, Catalog
from node_api.backends.kuzu.copy import copy_arrow

if TYPE_CHECKING:
    from node_api.backends.kuzu.backend import KuzuBackend

Loads = Sequence[tuple[str, Callable[[], pa.Table]]]


async def rebuild(
    backend: KuzuBackend, graph_id: str, loads: Loads, *, ignore_errors: bool,
    on_loaded: Callable[[str, int], None] | None = None,
) -> list[tuple[int, list[str]]]:
    meta = backend._meta(graph_id)
    build_dir = await backend.runner.run(lambda: backend.catalog.new_build_dir(graph_id))
    try:
        export_dir = build_dir / "schema-export"
        async with backend._connection(graph_id, StatementKind.READ) as (_handle, conn):
            await backend.runner.run(lambda: conn.execute(f"EXPORT DATABASE '{export_dir}' (SCHEMA_ONLY=true)"))
        ddl = [s.strip() for s in (export_dir / "schema.cypher").read_text().split(";\n") if s.strip()]
        await backend.runner.run(lambda: shutil.rmtree(export_dir))

        def _build() -> list[tuple[int, list[str]]]:
            database = backend.new_database(build_dir / GRAPH_FILE)
            try:
                conn = kuzu.Connection(database)
                try:
                    for statement in ddl:
                        conn.execute(statement)
                    results = []
                    for name, fetch in loads:
                        try:
                            loaded = copy_arrow(conn, name, fetch(), ignore_errors=ignore_errors)
                        except RuntimeError as exc:
                            raise QueryFailed(f"rebuild stopped at {name}; the live graph is unchanged: {exc}",
                                              table=name) from None
                        if on_loaded:
                            on_loaded(name, loaded[0])
                        results.append(loaded)
                    return results
                finally:
                    conn.close()
            finally:
                database.close()

        results = await backend.runner.run(_build)
        await backend.runner.run(lambda: Catalog.write_meta(build_dir, meta))
        await backend.replace_database(graph_id, build_dir, meta)
        return results
    except BaseException:
        await backend.runner.run(lambda: shutil.rmtree(build_dir, ignore_errors=True))
        raise
