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

A portable backup (portable.py: DDL plus Parquet) is written by the live database's worker inside a
read-only transaction (a snapshot; writers go on) into a directory within the graph's own directory
(the only place the worker may write), then moved into the destination. It restores into either
embedded engine: the files go into a fresh build directory, a scratch worker (which may read only its
build directory) runs the directory's scripts (what `IMPORT DATABASE` runs), and the result is checked against
the manifest (every table's row count, the tables and their properties) before it is swapped in.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from node_api.backends.base import DatabaseInfo, GraphSchema, StatementKind
from node_api.backends.embedded import portable
from node_api.backends.embedded.catalog import EXPORT_PREFIX, GraphMeta
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


def _facts(backend: EmbeddedBackend, meta: GraphMeta, counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    """The manifest facts every backup has, native or portable: engine, graph, row totals."""
    return {
        "engine": backend.kind,
        "engine_version": backend.engine_version,
        "storage_version": backend.storage_version,
        "graph_id": meta.graph_id,
        "schema_type": meta.schema_type,
        "database_created_at": meta.created_at.isoformat(),
        "node_count": sum(counts["node_tables"].values()),
        "rel_count": sum(counts["rel_tables"].values()),
    }


async def snapshot(backend: EmbeddedBackend, graph_id: str, destination: Path) -> dict[str, Any]:
    """Copies the database's files into destination under its write lane; returns manifest facts."""
    meta = backend.graph_meta(graph_id)
    profile = backend.profile
    async with backend.writes_held(graph_id, wait_s=_RETRY_FOR_S) as source:
        lock_ms = await asyncio.to_thread(_copy_files, source, source.with_name(profile.wal_file), destination,
                                          profile.graph_file, profile.wal_file)
    had_wal = (destination / profile.wal_file).exists()
    facts = await describe_copy(backend, destination)
    return {
        **_facts(backend, meta, facts["row_counts"]),
        "consistency": "copy+wal" if had_wal else "copy",
        "write_lock_ms": lock_ms,
        **facts,
    }


async def portable_snapshot(backend: EmbeddedBackend, graph_id: str, destination: Path) -> dict[str, Any]:
    """Writes graph_id in the portable format into destination; returns manifest facts, among them
    every exported file's rows and sha256 (`exported_files`) and every table's row count."""
    meta = backend.graph_meta(graph_id)
    graph_dir = backend.catalog.graph_dir(graph_id)
    tag = uuid.uuid4().hex[:8]
    export_dir, scratch = graph_dir / f"{EXPORT_PREFIX}portable-{tag}", graph_dir / f"{EXPORT_PREFIX}schema-{tag}"
    try:
        async with backend.session(graph_id, StatementKind.READ) as session:
            schema = await session.schema(timeout_s=backend.settings.max_query_timeout_s)
            exported = await session.export_portable(export_dir, scratch,
                                                     timeout_s=backend.settings.max_query_timeout_s)

        def _move() -> None:
            destination.mkdir(parents=True, exist_ok=True)
            for entry in exported["files"]:
                shutil.move(export_dir / entry["name"], destination / entry["name"])

        await asyncio.to_thread(_move)
    finally:
        await asyncio.to_thread(shutil.rmtree, export_dir, True)
        await asyncio.to_thread(shutil.rmtree, scratch, True)
    counts = exported["row_counts"]
    warnings = list(exported["warnings"])
    if schema.indexes:  # tenant-made (FTS, vector): primary keys' own are not listed (engine_ops.read_schema)
        warnings.append("indexes (full-text, vector) are not carried by the portable format; recreate them "
                        "after the restore")
    return {
        **_facts(backend, meta, counts),
        "backup_format": "portable",
        "portable": True,
        "portable_format": portable.PORTABLE_FORMAT,
        "consistency": "snapshot",
        "schema": canonical(schema),
        "row_counts": counts,
        "exported_files": exported["files"],
        "ddl": exported["ddl"],
        "warnings": warnings,
    }


def _tables(schema: dict[str, Any]) -> dict[str, Any]:
    """What a portable restore must reproduce: tables, their properties and node pairs (indexes are
    not carried)."""
    return {key: [{k: t.get(k) for k in ("name", "kind", "properties", "from_tables", "to_tables", "comment")}
                  for t in schema.get(key, [])] for key in ("node_tables", "rel_tables")}


def _check_exported_files(manifest: dict[str, Any]) -> None:
    """The archive's files (their sha256 checked on extraction) are the files the worker exported."""
    archived = {f.get("name"): f.get("sha256") for f in manifest.get("files", []) if isinstance(f, dict)}
    exported = manifest.get("exported_files")
    if not isinstance(exported, list) or not exported:
        raise BackupCorrupt("the portable backup's manifest lists no exported files")
    for entry in exported:
        if not isinstance(entry, dict) or archived.get(entry.get("name")) != entry.get("sha256"):
            raise BackupCorrupt("the portable backup's files differ from the checksums taken at export")
    if set(archived) != {e["name"] for e in exported}:
        raise BackupCorrupt("the portable backup's archive holds other files than were exported")


async def _import_portable(backend: EmbeddedBackend, build_dir: Path, source: Path, manifest: dict[str, Any]) -> None:
    """Loads a portable backup into a fresh build, then checks it against the manifest. The node runs
    the directory's schema.cypher and copy.cypher itself, statement by statement, as `IMPORT DATABASE`
    does: Kuzu 0.11.3's IMPORT DATABASE hangs with max_num_threads=1 (measured). The files are read
    from inside the build directory: the scratch worker may read nothing else."""
    _check_exported_files(manifest)
    staged = build_dir / "portable-import"

    def _stage() -> list[str]:
        staged.mkdir()
        for entry in manifest["exported_files"]:
            shutil.move(source / entry["name"], staged / entry["name"])
        return portable.import_statements(staged, backend.policy.check)

    try:
        try:
            statements = await asyncio.to_thread(_stage)
        except portable.NotPortable as exc:
            raise BackupCorrupt(f"the portable backup's scripts are not the node's: {exc}") from None
        async with backend.scratch(build_dir) as session:
            try:
                await session.script(statements, transaction=False, timeout_s=backend.settings.max_query_timeout_s)
            except BackendError as exc:
                raise BackupCorrupt(f"the portable backup could not be imported: {exc.message}") from None
            schema, _raw, counts = await session.describe()
    finally:
        await asyncio.to_thread(shutil.rmtree, staged, True)
    if counts != manifest.get("row_counts"):
        raise BackupCorrupt("the imported database's row counts differ from the backup's manifest",
                            expected=manifest.get("row_counts"), found=counts)
    if _tables(canonical(schema)) != _tables(manifest.get("schema") or {}):
        raise BackupCorrupt("the imported database's tables differ from the backup's manifest")


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
    is_portable = manifest.get("portable_format") is not None
    if is_portable:
        if manifest.get("portable_format") not in backend.portable_formats:
            raise IncompatibleBackup(f"this node cannot read the portable format {manifest.get('portable_format')!r}",
                                     backup_format=manifest.get("portable_format"))
    else:
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
            if is_portable:
                await _import_portable(backend, build_dir, source, manifest)
            else:
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
