"""Backup and restore as background tasks, on the node's task registry.

A backup: the backend writes a consistent copy of the database into a work directory (Kuzu: under
the write lock, see backends/kuzu/backup.py); its files are packed, compressed and hashed straight
into their destination (a work file renamed into the local root, or a multipart upload to S3); the
manifest listing every file's size and sha256 and the archive's is signed (signing.py) and stored
beside it; then retention prunes the graph's older backups in that destination (retention.py).
Only the copy blocks writers; packing and upload do not.

A restore checks what it can before queueing (location, ownership, the manifest's signature, the
file names against the backend's pattern, engine version), so a bad request is a 4xx at once and an
unsigned or wrongly signed backup is refused before its archive is read. The task then verifies the
archive's sha256 (local: by reading it; S3: while it streams into a work file), extracts it safely
into a fresh work directory (archive.py), and hands that directory to the backend, which verifies
the database and swaps it in. Nothing is replaced until the new database is complete and verified.

Tasks of one graph are serialized with its ingestion tasks (restore) or with each other (backup).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from node_api.backends.base import GraphBackend
from node_api.backends.errors import DatabaseBusy, DatabaseExists, DatabaseNotFound, Unsupported
from node_api.core.backup.archive import FORMAT, MANIFEST_NAME, Packed, declared_files, extract, pack, scan
from node_api.core.backup.errors import BackupCorrupt, BackupError, BackupUntrusted, IncompatibleBackup
from node_api.core.backup.locations import Location, Locations
from node_api.core.backup.retention import Candidate, RetentionPolicy
from node_api.core.backup.settings import BackupSettings
from node_api.core.backup.signing import Signer, key_source
from node_api.core.backup.store import BackupStore
from node_api.core.logs import get_logger
from node_api.core.metrics import NodeMetrics
from node_api.core.tasks import Task, TaskContext, TaskRegistry
from node_api.security.paths import validate_graph_id

log = get_logger(__name__)

class BackupService:
    def __init__(self, settings: BackupSettings, *, base_path: Path, development: bool, backend: GraphBackend,
                 tasks: TaskRegistry, metrics: NodeMetrics | None = None) -> None:
        """`development` (ENVIRONMENT=dev, the node's default, or GRAPH_API_DEV_MODE): the node may make
        its own signing key. Backups and restores run as tasks of the node's registry."""
        self.settings = settings
        self.backend = backend
        self.tasks = tasks
        self.metrics = metrics
        self.locations = Locations(base_path, settings)
        self.store = BackupStore(self.locations)
        self.signer = Signer(key_source(
            secret_id=settings.signing_secret_id, key_file=settings.signing_key_file,
            base_path=base_path.resolve(), development=development,
            endpoint_url=settings.secrets_endpoint_url, region=settings.s3_region,
        ), refresh_s=settings.signing_refresh_s)
        self.retention = RetentionPolicy(settings.keep_last, settings.max_age_days)

    async def start(self) -> None:
        def _prepare() -> None:
            # Half-written archives and extractions of a previous run are never served.
            shutil.rmtree(self.locations.work, ignore_errors=True)
            self.locations.work.mkdir(parents=True)

        await asyncio.to_thread(_prepare)

    async def close(self) -> None:
        """Nothing to let go of: the tasks are the node's registry's."""

    # ---- backup
    async def start_backup(self, graph_id: str, destination: str, backup_format: str = "native") -> Task:
        """`backup_format`: "native" (the engine's files) or "portable" (another engine can restore it:
        backend.portable_formats, docs/engine-migration.md)."""
        await self.backend.database_info(graph_id)  # 404 / 409 busy before anything is queued
        if backup_format == "portable" and not self.backend.portable_formats:
            raise Unsupported(f"the {self.backend.kind} backend writes no portable backup format")
        location = self.locations.for_new(graph_id, destination)
        await asyncio.to_thread(self.signer.keys)  # 503 now, not after the copy, if nothing can sign

        async def job(ctx: TaskContext) -> dict[str, Any]:
            started = time.perf_counter()
            try:
                result = await self._backup(ctx, location, backup_format)
            except BaseException:
                self._observe("backup", False, started, 0)
                raise
            self._observe("backup", True, started, result["size_bytes"])
            return result

        registry = self.tasks
        return registry.submit("backup", job, graph_id=graph_id, serial_key=f"backup:{graph_id}",
                               params={"destination": destination, "location": str(location),
                                       "format": backup_format})

    async def _backup(self, ctx: TaskContext, location: Location, backup_format: str) -> dict[str, Any]:
        started = time.perf_counter()
        backend = self.backend
        work = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix=f"backup-{location.backup_id}-",
                                            dir=self.locations.work))
        data_dir = work / "data"
        try:
            if backup_format == "portable":
                ctx.report(progress=1, message="exporting the database (portable format)")
                facts = await backend.portable_backup(location.graph_id, data_dir)
            else:
                ctx.report(progress=1, message="copying the database")
                facts = await backend.backup(location.graph_id, data_dir)
            copied_s = time.perf_counter() - started
            try:
                names = await asyncio.to_thread(scan, data_dir, backend.backup_file_pattern)
            except ValueError as exc:
                raise BackupError(str(exc)) from None
            total = max(1, sum((data_dir / n).stat().st_size for n in names))
            ctx.report(progress=20, message=f"compressing into {location.kind}")

            def produce(out: Any) -> Packed:
                return pack(data_dir, names, out, level=self.settings.compression_level,
                            threads=self.settings.zstd_threads,
                            progress=lambda done: ctx.report(progress=20 + 70 * done / total))

            packed = await asyncio.to_thread(self.store.write_archive, location, produce)
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)
        ctx.report(progress=90, message="signing the manifest")
        # The backend's facts never override the archive's own envelope (format, id, graph, files).
        manifest = json.loads(json.dumps({
            **facts, "format": FORMAT, "backup_id": location.backup_id, "created_at": datetime.now(UTC).isoformat(),
            "graph_id": location.graph_id, "files": packed.files, "archive": packed.archive.to_json(),
        }, default=str))
        try:
            signed = await asyncio.to_thread(self.signer.sign, manifest)
            await asyncio.to_thread(self.store.put_sidecar, location, signed)
        except BaseException:
            await asyncio.to_thread(self.store.delete, location)
            raise
        pruned = await self._apply_retention(location)
        elapsed = time.perf_counter() - started
        info = packed.archive
        return {
            "backup_id": location.backup_id,
            "location": str(location),
            "destination": location.kind,
            "graph_id": location.graph_id,
            "backup_format": facts.get("backup_format", "native"),
            "engine": facts.get("engine"),
            "size_bytes": info.size_bytes,
            "raw_bytes": info.raw_bytes,
            "sha256": info.sha256,
            "key_id": signed["signature"]["key_id"],
            "node_count": facts.get("node_count"),
            "rel_count": facts.get("rel_count"),
            "consistency": facts.get("consistency"),
            "write_lock_ms": facts.get("write_lock_ms"),
            "copy_seconds": round(copied_s, 3),
            "duration_seconds": round(elapsed, 3),
            "mb_per_s": round(info.raw_bytes / 1e6 / max(elapsed, 1e-6), 1),
            "pruned": pruned,
            "warnings": facts.get("warnings", []),
        }

    # ---- retention
    async def _apply_retention(self, just_written: Location) -> list[str]:
        """Deletes what the retention policy says, among the graph's verified backups in the same
        destination; returns their ids. A failure here is logged: the backup itself succeeded."""
        if not self.retention.enabled:
            return []
        graph_id, kind = just_written.graph_id, just_written.kind
        try:
            candidates: dict[str, Location] = {}
            verified: list[Candidate] = []
            for location, manifest in await asyncio.to_thread(self.store.list, graph_id, kind):
                try:
                    await asyncio.to_thread(self.signer.verify, manifest)
                    created = datetime.fromisoformat(str(manifest.get("created_at")))
                except (BackupUntrusted, ValueError):
                    continue  # not ours to count or delete
                candidates[location.backup_id] = location
                verified.append(Candidate(location.backup_id, created))
            doomed = self.retention.to_prune(verified, now=datetime.now(UTC), keep=just_written.backup_id)
            for backup_id in doomed:
                await asyncio.to_thread(self.store.delete, candidates[backup_id])
        except BackupError as exc:
            log.warning("backup retention failed", graph_id=graph_id, destination=kind, error=exc.message)
            return []
        if doomed:
            log.info("backups pruned", graph_id=graph_id, destination=kind, backup_ids=doomed)
            if self.metrics is not None:
                self.metrics.observe_pruned(kind, len(doomed))
        return doomed

    # ---- listing
    async def list_backups(self, graph_id: str) -> list[dict[str, Any]]:
        """Every backup of the graph, newest first; `trusted` says whether its signature verifies with
        this cluster's keys (None: the keys cannot be read right now).

        Raises DatabaseNotFound (404) when the graph neither exists nor has a backup, as a backup of
        it would. A deleted graph's backups are still listed: restoring one re-creates the graph."""
        kinds = ["local", "s3"] if self.settings.s3_bucket else ["local"]
        found: list[dict[str, Any]] = []
        for kind in kinds:
            for location, manifest in await asyncio.to_thread(self.store.list, graph_id, kind):
                # The node's own facts last: a manifest never names its location or vouches for itself.
                found.append({**manifest, "location": str(location), "destination": kind,
                              "trusted": await self._trusted(manifest)})
        if not found:
            try:
                await self.backend.database_info(graph_id)  # DatabaseNotFound for a graph nobody knows
            except DatabaseBusy:
                pass  # it exists (being created, restored or deleted): it has no backup yet
        found.sort(key=lambda m: str(m.get("created_at")), reverse=True)
        return found

    async def _trusted(self, manifest: dict[str, Any]) -> bool | None:
        try:
            await asyncio.to_thread(self.signer.verify, manifest)
        except BackupUntrusted:
            return False
        except BackupError:
            return None
        return True

    # ---- restore
    async def start_restore(self, graph_id: str, location_text: str, target: str | None) -> Task:
        backend = self.backend
        target = validate_graph_id(target or graph_id)
        location = self.locations.parse(location_text, graph_id)
        if target != graph_id:
            # Restoring as another graph only ever creates it: it never overwrites someone's data.
            try:
                await backend.database_info(target)
            except DatabaseNotFound:
                pass
            else:
                raise DatabaseExists(f"database {target} exists; a backup of {graph_id} may only be restored "
                                     f"into {graph_id} itself or into a new database", graph_id=target)
        expected = await asyncio.to_thread(self.store.read_sidecar, location)
        # Trust first: nothing of an unsigned or wrongly signed backup is read beyond its manifest.
        await asyncio.to_thread(self.signer.verify, expected)
        if expected.get("format") != FORMAT:
            raise BackupCorrupt(f"this backup is not {FORMAT}: refusing to restore it")
        declared_files(expected, backend.backup_file_pattern)
        # A backend whose backups are engine files needs the same engine version; one that writes a
        # portable format (Neo4j: JSON lines, replayed through Cypher) says so with `portable`. A format
        # the backend lists in `portable_formats` restores whichever engine wrote it (Kuzu <-> LadybugDB).
        same_version = expected.get("engine_version") == backend.engine_version or expected.get("portable") is True
        cross_engine = expected.get("portable_format") in backend.portable_formats
        if not cross_engine and (expected.get("engine") != backend.kind or not same_version):
            raise IncompatibleBackup(
                f"this backup was written by {expected.get('engine')} {expected.get('engine_version')}; this node "
                f"runs {backend.kind} {backend.engine_version}, which cannot open its files. Restore it on a "
                "node of that version.",
                backup_engine=expected.get("engine"), backup_engine_version=expected.get("engine_version"),
                node_engine=backend.kind, node_engine_version=backend.engine_version,
            )

        async def job(ctx: TaskContext) -> dict[str, Any]:
            started = time.perf_counter()
            try:
                result = await self._restore(ctx, location, expected, target)
            except BaseException:
                self._observe("restore", False, started, 0)
                raise
            self._observe("restore", True, started, expected["archive"]["size_bytes"])
            return result

        registry = self.tasks
        return registry.submit("restore", job, graph_id=target, serial_key=target,
                               params={"location": str(location), "source_graph_id": graph_id})

    async def _restore(self, ctx: TaskContext, location: Location, expected: dict[str, Any],
                       target: str) -> dict[str, Any]:
        started = time.perf_counter()
        backend = self.backend
        archive_info = expected["archive"]
        # A fresh directory of its own under the work area: extraction creates files nowhere else.
        work = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix=f"restore-{location.backup_id}-",
                                            dir=self.locations.work))
        data_dir = work / "data"
        try:
            await asyncio.to_thread(data_dir.mkdir)
            ctx.report(progress=1, message="downloading and verifying" if location.kind == "s3" else "verifying")
            archive = await asyncio.to_thread(self.store.verified_copy, location, archive_info["sha256"],
                                              archive_info["size_bytes"], work / "archive.tar.zst")
            ctx.report(progress=10, message="extracting")
            total = max(1, int(archive_info.get("raw_bytes") or 1))

            def _extract() -> None:
                with archive.open("rb") as src:
                    extract(src, data_dir, expected, backend.backup_file_pattern,
                            lambda done: ctx.report(progress=10 + 60 * done / total))
                # For the backend's own checks (Kuzu: schema and row counts): the verified manifest.
                (data_dir / MANIFEST_NAME).write_text(json.dumps(expected))

            await asyncio.to_thread(_extract)
            ctx.report(progress=70, message="verifying the database and swapping it in")
            info = await backend.restore(target, data_dir, schema_type=str(expected.get("schema_type", "")))
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)
        elapsed = time.perf_counter() - started
        raw = int(archive_info.get("raw_bytes") or 0)
        return {
            "graph_id": info.graph_id,
            "restored_from": str(location),
            "backup_id": location.backup_id,
            "backup_created_at": expected.get("created_at"),
            "key_id": expected["signature"]["key_id"],
            "node_count": expected.get("node_count"),
            "rel_count": expected.get("rel_count"),
            "backup_format": expected.get("backup_format", "native"),
            "backup_engine": expected.get("engine"),
            "duration_seconds": round(elapsed, 3),
            "mb_per_s": round(raw / 1e6 / max(elapsed, 1e-6), 1),
        }

    def _observe(self, operation: str, ok: bool, started: float, size: int) -> None:
        if self.metrics is not None:
            self.metrics.observe_operation(operation, ok, time.perf_counter() - started, size)
