"""Kuzu backup and restore: engine-native file copies, consistent while writes continue.

Engine facts (kuzu 0.11.3, measured here):
- The data file changes only at checkpoints, and a checkpoint (auto or explicit) runs inside a
  committing write transaction. So while a backup holds the database's `write_lock` no byte of
  `graph.kuzu` or `graph.kuzu.wal` changes: copying both gives a consistent snapshot, and opening
  the copy replays the WAL. Writes queue on the lock during the copy; reads go on.
- No engine call runs under the lock. CHECKPOINT would wait for every active transaction, reads
  included, and fail after about 5 s ("Timeout waiting for active transactions..."); and with
  KUZU_THREADS_PER_DB=1 even schema/count queries queue behind a running read. So the lock covers
  the file copy only; schema and row counts are read afterwards from the copy itself (opened in a
  work directory), and closing that copy folds the WAL into its data file.
- Never open a second `kuzu.Database` on a served path (closing it drops the process's file lock):
  the copy goes through the OpenDatabase handle; only copies in build directories are opened.
- `EXPORT DATABASE` is forbidden to tenants by the Cypher guard and slower; files are copied as is.
"""

from __future__ import annotations

import asyncio
import functools
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import kuzu

from node_api.backends.base import DatabaseInfo, GraphSchema, StatementKind
from node_api.backends.errors import DatabaseBusy, Overloaded
from node_api.backends.kuzu.catalog import GRAPH_FILE, WAL_FILE, Catalog, GraphMeta
from node_api.core.backup.archive import MANIFEST_NAME
from node_api.core.backup.errors import BackupCorrupt, IncompatibleBackup

if TYPE_CHECKING:
    from node_api.backends.kuzu.backend import KuzuBackend

STORAGE_VERSION = int(kuzu.Database.get_storage_version())
_RETRY_FOR_S = 600.0  # a backup task waits this long for a busy or closing database


def _row_counts(conn: kuzu.Connection, schema: GraphSchema) -> dict[str, dict[str, int]]:
    def count(query: str) -> int:
        result = conn.execute(query)
        value = int(result.get_next()[0])
        result.close()
        return value

    return {
        "node_tables": {t.name: count(f"MATCH (n:`{t.name}`) RETURN count(n)") for t in schema.node_tables},
        "rel_tables": {t.name: count(f"MATCH ()-[r:`{t.name}`]->() RETURN count(r)") for t in schema.rel_tables},
    }


def _copy_files(source: Path, destination: Path) -> float:
    """Runs with the write lock held, and only copies: no engine call, so reads never delay it."""
    started = time.perf_counter()
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, destination / GRAPH_FILE)
    wal = source.with_name(WAL_FILE)
    if wal.exists():
        shutil.copyfile(wal, destination / WAL_FILE)
    return round((time.perf_counter() - started) * 1000, 1)


def _describe(backend: KuzuBackend, directory: Path) -> dict[str, Any]:
    """Schema and row counts of a copy in a directory nothing serves. Closing the copy checkpoints
    it, so the WAL taken along is folded into the data file: the archive holds one file."""
    from node_api.backends.kuzu.backend import _read_schema

    database = backend.new_database(directory / GRAPH_FILE)
    try:
        conn = kuzu.Connection(database)
        try:
            schema = _read_schema(conn)
            return {"schema": _canonical(schema), "row_counts": _row_counts(conn, schema)}
        finally:
            conn.close()
    finally:
        database.close()


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _canonical(schema: GraphSchema) -> dict[str, Any]:
    """The schema as the manifest keeps it: tables by name (show_tables' order is not stable)."""
    data = _jsonable(asdict(schema))
    for key in ("node_tables", "rel_tables"):
        data[key].sort(key=lambda t: t["name"])
    data["indexes"].sort(key=lambda i: json.dumps(i, sort_keys=True))
    return data


async def snapshot(backend: KuzuBackend, graph_id: str, destination: Path) -> dict[str, Any]:
    """Copies the database's files into destination under its write lock; returns manifest facts."""
    meta = backend._meta(graph_id)
    source = backend.catalog.graph_file(graph_id)
    deadline = time.monotonic() + _RETRY_FOR_S
    while True:
        try:
            handle = await backend._handle(graph_id)
            # A checked-out connection pins the handle open (the reaper and the LRU skip busy
            # handles); the write lock holds writers back while the files are copied.
            async with handle.connection(StatementKind.READ), handle.write_lock:
                lock_ms = await backend.runner.run(functools.partial(_copy_files, source, destination))
            break
        except (DatabaseBusy, Overloaded):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
    had_wal = (destination / WAL_FILE).exists()
    facts = await backend.runner.run(functools.partial(_describe, backend, destination))
    counts = facts["row_counts"]
    return {
        "engine": backend.kind,
        "engine_version": backend.engine_version,
        "storage_version": STORAGE_VERSION,
        "graph_id": graph_id,
        "schema_type": meta.schema_type,
        "database_created_at": meta.created_at.isoformat(),
        "node_count": sum(counts["node_tables"].values()),
        "rel_count": sum(counts["rel_tables"].values()),
        "consistency": "copy+wal" if had_wal else "copy",
        "write_lock_ms": lock_ms,
        **facts,
    }


def check_compatible(manifest: dict[str, Any]) -> None:
    found = (manifest.get("engine"), manifest.get("engine_version"), manifest.get("storage_version"))
    here = ("kuzu", kuzu.__version__, STORAGE_VERSION)
    if found != here:
        raise IncompatibleBackup(
            f"this backup was written by {found[0]} {found[1]} (storage version {found[2]}); this node runs "
            f"kuzu {here[1]} (storage version {here[2]}), which cannot open its files. Restore it on a node "
            "of that version, or export and re-ingest the data.",
            backup_engine=found[0], backup_engine_version=found[1], backup_storage_version=found[2],
            node_engine_version=here[1], node_storage_version=here[2],
        )


def _verify(backend: KuzuBackend, build_dir: Path, manifest: dict[str, Any]) -> None:
    """Opens the restored copy (a build path nothing serves) and checks it against the manifest."""
    from node_api.backends.kuzu.backend import _read_schema

    try:
        database = backend.new_database(build_dir / GRAPH_FILE)
    except RuntimeError as exc:
        raise BackupCorrupt(f"the restored database does not open: {exc}") from None
    try:
        conn = kuzu.Connection(database)
        try:
            schema = _read_schema(conn)
            counts = _row_counts(conn, schema)
        finally:
            conn.close()
    except RuntimeError as exc:
        raise BackupCorrupt(f"the restored database cannot be read: {exc}") from None
    finally:
        database.close()  # checkpoints: the WAL copied along is folded into the data file
    if counts != manifest.get("row_counts") or _canonical(schema) != manifest.get(
        "schema"
    ):
        raise BackupCorrupt("the restored database's schema or row counts differ from the backup's manifest")


async def restore(backend: KuzuBackend, graph_id: str, source: Path, *, schema_type: str) -> DatabaseInfo:
    """Builds graph_id from the files in source beside the live database, verifies it, then swaps
    it in (an existing graph) or publishes it (a new one). Any failure before that leaves the live
    database as it was; a new graph_id is held against the node's capacity from the start."""
    manifest = json.loads((source / MANIFEST_NAME).read_text())
    check_compatible(manifest)
    meta = GraphMeta(graph_id, schema_type or str(manifest.get("schema_type", "custom")), Catalog.now(),
                     backend.kind, backend.engine_version)

    async def build() -> Path:
        build_dir = await backend.runner.run(lambda: backend.catalog.new_build_dir(graph_id))

        def _prepare() -> None:
            for name in (GRAPH_FILE, WAL_FILE):
                if (source / name).exists():
                    shutil.move(source / name, build_dir / name)  # a rename: same file system
            if not (build_dir / GRAPH_FILE).is_file():
                raise BackupCorrupt("the backup holds no database file")
            _verify(backend, build_dir, manifest)

        try:
            await backend.runner.run(_prepare)
        except BaseException:
            await backend.runner.run(lambda: shutil.rmtree(build_dir, ignore_errors=True))
            raise
        return build_dir

    if graph_id in backend._metas:
        build_dir = await build()
        try:
            await backend.replace_database(graph_id, build_dir, meta)
        finally:
            await backend.runner.run(lambda: shutil.rmtree(build_dir, ignore_errors=True))
    else:
        async with backend.reserve(graph_id):
            build_dir = await build()
            try:
                await backend.publish_database(graph_id, build_dir, meta)
            finally:
                await backend.runner.run(lambda: shutil.rmtree(build_dir, ignore_errors=True))
    return backend._info(meta, None)
