"""Native backup and restore of an embedded database: file copies, consistent while writes continue.

Engine facts (kuzu 0.11.3, measured here; LadybugDB 0.22.0 the same):
- The data file changes only at checkpoints, and a checkpoint (auto or explicit) runs inside a
  committing write transaction. So while a backup holds the database's write lane no byte of the
  database file or its WAL changes: copying both gives a consistent snapshot, and opening the copy
  replays the WAL. Writes queue on the lane during the copy; reads go on.
- No engine call runs under the lane. CHECKPOINT would wait for every active transaction, reads
  included, and fail after about 5 s ("Timeout waiting for active transactions..."); and with
  KUZU_THREADS_PER_DB=1 even schema/count queries queue behind a running read. So the lane covers
  the file copy only; schema and row counts are read afterwards from the copy itself (opened in a
  scratch worker), and closing that copy folds the WAL into its data file.
- Never open a second Database on a served path: one process per database, always (the copy is
  what the scratch worker opens).
- Native files are engine- and storage-version-specific: a restore checks both (`check_compatible`).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from node_api.backends.base import DatabaseInfo, GraphSchema
from node_api.backends.errors import BackendError
from node_api.core.backup.archive import MANIFEST_NAME
from node_api.core.backup.errors import BackupCorrupt, IncompatibleBackup

if TYPE_CHECKING:
    from node_api.backends.embedded.backend import EmbeddedBackend

_RETRY_FOR_S = 600.0  # a backup task waits this long for a busy or closing database


def _copy_files(source: Path, wal: Path, destination: Path, graph_file: str, wal_file: str) -> float:
    """Runs with the write lane held, and only copies: no engine call, so reads never delay it."""
    started = time.perf_counter()
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, destination / graph_file)
    if wal.exists():
        shutil.copyfile(wal, destination / wal_file)
    return round((time.perf_counter() - started) * 1000, 1)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def canonical(schema: GraphSchema) -> dict[str, Any]:
    """The schema as the manifest keeps it: tables by name (show_tables' order is not stable)."""
    data = _jsonable(asdict(schema))
    for key in ("node_tables", "rel_tables"):
        data[key].sort(key=lambda t: t["name"])
    data["indexes"].sort(key=lambda i: json.dumps(i, sort_keys=True))
    return data


async def describe_copy(backend: EmbeddedBackend, directory: Path) -> dict[str, Any]:
    """Schema and row counts of a copy in a directory nothing serves. Closing the copy checkpoints
    it, so a WAL taken along is folded into the data file: the archive holds one file."""
    async with backend.scratch(directory) as session:
        schema, _raw, counts = await session.describe()
    return {"schema": canonical(schema), "row_counts": counts}


async def snapshot(backend: EmbeddedBackend, graph_id: str, destination: Path) -> dict[str, Any]:
    """Copies the database's files into destination under its write lane; returns manifest facts."""
    meta = backend.graph_meta(graph_id)
    profile = backend.profile
    async with backend.writes_held(graph_id, wait_s=_RETRY_FOR_S) as source:
        lock_ms = await asyncio.to_thread(_copy_files, source, source.with_name(profile.wal_file), destination,
                                          profile.graph_file, profile.wal_file)
    had_wal = (destination / profile.wal_file).exists()
    facts = await describe_copy(backend, destination)
    counts = facts["row_counts"]
    return {
        "engine": backend.kind,
        "engine_version": backend.engine_version,
        "storage_version": backend.storage_version,
        "graph_id": graph_id,
        "schema_type": meta.schema_type,
        "database_created_at": meta.created_at.isoformat(),
        "node_count": sum(counts["node_tables"].values()),
        "rel_count": sum(counts["rel_tables"].values()),
        "consistency": "copy+wal" if had_wal else "copy",
        "write_lock_ms": lock_ms,
        **facts,
    }


def check_compatible(backend: EmbeddedBackend, manifest: dict[str, Any]) -> None:
    found = (manifest.get("engine"), manifest.get("engine_version"))
    here = (backend.kind, backend.engine_version)
    if found != here:
        raise IncompatibleBackup(
            f"this backup was written by {found[0]} {found[1]} (storage version "
            f"{manifest.get('storage_version')}); this node runs {here[0]} {here[1]}, which cannot open its "
            "files. Restore it on a node of that engine and version, or move the graph with a portable "
            "backup (docs/engine-migration.md).",
            backup_engine=found[0], backup_engine_version=found[1],
            backup_storage_version=manifest.get("storage_version"),
            node_engine=here[0], node_engine_version=here[1],
        )


async def _verify(backend: EmbeddedBackend, build_dir: Path, manifest: dict[str, Any]) -> None:
    """Opens the restored copy (a build path nothing serves) and checks it against the manifest."""
    try:
        facts = await describe_copy(backend, build_dir)
    except BackendError as exc:
        raise BackupCorrupt(f"the restored database cannot be opened or read: {exc.message}") from None
    if facts["row_counts"] != manifest.get("row_counts") or facts["schema"] != manifest.get("schema"):
        raise BackupCorrupt("the restored database's schema or row counts differ from the backup's manifest")


async def restore(backend: EmbeddedBackend, graph_id: str, source: Path, *, schema_type: str) -> DatabaseInfo:
    """Builds graph_id from the files in source beside the live database, verifies it, then swaps
    it in (an existing graph) or publishes it (a new one). Any failure before that leaves the live
    database as it was; a new graph_id is held against the node's capacity from the start."""
    manifest = json.loads(await asyncio.to_thread((source / MANIFEST_NAME).read_text))
    check_compatible(backend, manifest)
    meta = backend.new_meta(graph_id, schema_type or str(manifest.get("schema_type", "custom")))
    profile = backend.profile

    async def build() -> Path:
        build_dir = await backend.new_build_dir(graph_id)

        def _move() -> None:
            for name in (profile.graph_file, profile.wal_file):
                if (source / name).exists():
                    shutil.move(source / name, build_dir / name)  # a rename: same file system
            if not (build_dir / profile.graph_file).is_file():
                raise BackupCorrupt("the backup holds no database file")

        try:
            await asyncio.to_thread(_move)
            await _verify(backend, build_dir, manifest)
        except BaseException:
            await backend.discard_build(build_dir)
            raise
        return build_dir

    if backend.exists(graph_id):
        build_dir = await build()
        try:
            await backend.replace_database(graph_id, build_dir, meta)
        finally:
            await backend.discard_build(build_dir)
    else:
        async with backend.reserve(graph_id):
            build_dir = await build()
            try:
                await backend.publish_database(graph_id, build_dir, meta)
            finally:
                await backend.discard_build(build_dir)
    return backend.info_of(meta)
