"""Rebuild: a fresh database from the live one's schema and new data, swapped in when complete.

The build happens beside the live database (`.creating/`, a path nothing serves, in a worker of its
own), from the live schema as DDL (portable.schema_only: the engines' own schema exports lose DEFAULTs
and comments in Kuzu 0.11.3 and refuse rel groups in LadybugDB 0.22.0, docs/engine-facts.md). Tables load in the order
given (node tables before relationship tables). Only when every table is in does the backend swap
it in (`EmbeddedBackend.replace_database`); any failure before leaves the live database untouched.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from node_api.backends.base import StatementKind
from node_api.backends.embedded.catalog import EXPORT_PREFIX
from node_api.backends.errors import QueryFailed

if TYPE_CHECKING:
    from node_api.backends.embedded.backend import EmbeddedBackend

Loads = Sequence[tuple[str, Callable[[], pa.Table]]]


async def export_schema(backend: EmbeddedBackend, graph_id: str) -> list[str]:
    """The live graph's DDL (portable.schema_only: tables with their DEFAULTs, multiplicities, sequences
    and comments). The engine's schema export it reads multiplicities from goes to a scratch path inside
    the graph's own directory: the worker may write nowhere else (sandbox.py)."""
    scratch = backend.catalog.graph_dir(graph_id) / f"{EXPORT_PREFIX}schema-{uuid.uuid4().hex[:8]}"
    try:
        async with backend.session(graph_id, StatementKind.READ) as session:
            return await session.ddl(scratch, timeout_s=backend.settings.max_query_timeout_s)
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, True)


async def rebuild(
    backend: EmbeddedBackend, graph_id: str, loads: Loads, *, ignore_errors: bool,
    on_loaded: Callable[[str, int], None] | None = None,
) -> list[tuple[int, list[str]]]:
    from node_api.backends.embedded.backend import arrow_ipc

    meta = backend.graph_meta(graph_id)
    build_dir = await backend.new_build_dir(graph_id)
    try:
        ddl = await export_schema(backend, graph_id)
        results: list[tuple[int, list[str]]] = []
        async with backend.scratch(build_dir) as session:
            await session.script(ddl, transaction=False, timeout_s=backend.settings.max_query_timeout_s)
            for name, fetch in loads:
                data = await asyncio.to_thread(fetch)
                payload = await asyncio.to_thread(arrow_ipc, data)
                del data  # the rows now travel as one IPC stream; keep one copy, not two
                try:
                    loaded = await session.copy(name, payload, ignore_errors=ignore_errors,
                                                timeout_s=backend.settings.max_query_timeout_s)
                except QueryFailed as exc:
                    raise QueryFailed(f"rebuild stopped at {name}; the live graph is unchanged: {exc.message}",
                                      table=name) from None
                if on_loaded:
                    on_loaded(name, loaded[0])
                results.append(loaded)
        await backend.replace_database(graph_id, build_dir, meta)
        return results
    except BaseException:
        await backend.discard_build(build_dir)
        raise
