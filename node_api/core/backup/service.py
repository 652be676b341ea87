"""Backup and restore as background tasks, on the node's task registry.

A backup: the backend writes a consistent copy of the database into a work directory (Kuzu: under
the write lock, see backends/kuzu/backup.py), then it is packed, checksummed and put in place
(local root or S3) with its manifest. Only the copy blocks writers; packing and upload do not.

A restore checks what it can before queueing (location, ownership, manifest, engine version), so a
bad request is a 4xx at once. The task then extracts while hashing, refuses the archive on any
mismatch, and hands a verified directory to the backend, which swaps it in. Nothing is replaced
until the new database is complete and verified.

Tasks of one graph are serialized with its ingestion tasks (restore) or with each other (backup).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from node_api.backends.errors import DatabaseExists, DatabaseNotFound
from node_api.core.backup.archive import FORMAT, file_entries, pack, sidecar, unpack
from node_api.core.backup.errors import IncompatibleBackup
from node_api.core.backup.locations import Location, Locations
from node_api.core.backup.settings import BackupSettings
from node_api.core.backup.store import BackupStore
from node_api.core.metrics import NodeMetrics
from node_api.core.tasks import Task, TaskContext, TaskRegistry
from node_api.security.paths import validate_graph_id
from node_api.state import NodeState

SERVICE_NAME = "operations"


class BackupService:
    def __init__(self, node: NodeState, settings: BackupSettings, metrics: NodeMetrics | None = None) -> None:
        self.node = node
        self.settings = settings
        self.metrics = metrics
        self.locations = Locations(node.settings.base_path, settings)
        self.store = BackupStore(self.locations)
        self._own_tasks: TaskRegistry | None = None

    async def start(self) -> None:
        def _prepare() -> None:
            # Half-written archives and extractions of a previous run are never served.
            shutil.rmtree(self.locations.work, ignore_errors=True)
            self.locations.work.mkdir(parents=True)

        await asyncio.to_thread(_prepare)

    async def close(self) -> None:
        if self._own_tasks is not None:
            await self._own_tasks.close()

    async def tasks(self) -> TaskRegistry:
        """The node's task registry (the one GET /tasks/{id}/status reads), or our own if the node
        runs without one."""
        for name in ("tasks", "staging"):
            service = self.node.services.get(name)
            registry = service if isinstance(service, TaskRegistry) else getattr(service, "tasks", None)
            if isinstance(registry, TaskRegistry):
                return registry
        if self._own_tasks is None:
            self._own_tasks = TaskRegistry(self.node.settings.base_path, queue_bound=2,
                                           retry_after_s=self.node.settings.retry_after_s)
            await self._own_tasks.start()
        return self._own_tasks

    # ---- backup
    async def start_backup(self, graph_id: str, destination: str) -> Task:
        await self.node.backend.database_info(graph_id)  # 404 / 409 busy before anything is queued
        location = self.locations.for_new(graph_id, destination)

        async def job(ctx: TaskContext) -> dict[str, Any]:
            started = time.perf_counter()
            try:
                result = await self._backup(ctx, location)
            except BaseException:
                self._observe("backup", False, started, 0)
                raise
            self._observe("backup", True, started, result["size_bytes"])
            return result

        registry = await self.tasks()
        return registry.submit("backup", job, graph_id=graph_id, serial_key=f"backup:{graph_id}",
                               params={"destination": destination, "location": str(location)})

    async def _backup(self, ctx: TaskContext, location: Location) -> dict[str, Any]:
        started = time.perf_counter()
        work = self.locations.work / location.backup_id
        data_dir = work / "data"
        try:
            ctx.report(progress=1, message="copying the database")
            facts = await self.node.backend.backup(location.graph_id, data_dir)
            copied_s = time.perf_counter() - started
            # The backend's facts never override the archive's own envelope (format, id, graph).
            manifest = {**facts, "format": FORMAT, "backup_id": location.backup_id,
                        "created_at": datetime.now(UTC).isoformat(), "graph_id": location.graph_id}
            manifest["files"] = await asyncio.to_thread(file_entries, data_dir)
            total = max(1, sum(f["size"] for f in manifest["files"]))
            ctx.report(progress=20, message="compressing")
            archive = work / "archive.tar.zst"
            info = await asyncio.to_thread(
                pack, data_dir, manifest, archive, lambda done: ctx.report(progress=20 + 70 * done / total))
            ctx.report(progress=90, message=f"storing ({location.kind})")
            await asyncio.to_thread(self.store.put, location, archive, sidecar(manifest, info))
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)
        elapsed = time.perf_counter() - started
        return {
            "backup_id": location.backup_id,
            "location": str(location),
            "destination": location.kind,
            "graph_id": location.graph_id,
            "size_bytes": info.size_bytes,
            "raw_bytes": info.raw_bytes,
            "sha256": info.sha256,
            "node_count": facts.get("node_count"),
            "rel_count": facts.get("rel_count"),
            "consistency": facts.get("consistency"),
            "write_lock_ms": facts.get("write_lock_ms"),
            "copy_seconds": round(copied_s, 3),
            "duration_seconds": round(elapsed, 3),
            "mb_per_s": round(info.raw_bytes / 1e6 / max(elapsed, 1e-6), 1),
        }

    # ---- listing
    async def list_backups(self, graph_id: str) -> list[dict[str, Any]]:
        kinds = ["local", "s3"] if self.settings.s3_bucket else ["local"]
        found: list[dict[str, Any]] = []
        for kind in kinds:
            for location, manifest in await asyncio.to_thread(self.store.list, graph_id, kind):
                found.append({"location": str(location), "destination": kind, **manifest})
        found.sort(key=lambda m: str(m.get("created_at")), reverse=True)
        return found

    # ---- restore
    async def start_restore(self, graph_id: str, location_text: str, target: str | None) -> Task:
        backend = self.node.backend
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
        # A backend whose backups are engine files needs the same engine version; one that writes a
        # portable format (Neo4j: JSON lines, replayed through Cypher) says so with `portable`.
        same_version = expected.get("engine_version") == backend.engine_version or expected.get("portable") is True
        if expected.get("engine") != backend.kind or not same_version:
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

        registry = await self.tasks()
        return registry.submit("restore", job, graph_id=target, serial_key=target,
                               params={"location": str(location), "source_graph_id": graph_id})

    async def _restore(self, ctx: TaskContext, location: Location, expected: dict[str, Any],
                       target: str) -> dict[str, Any]:
        started = time.perf_counter()
        work = self.locations.work / f"restore-{location.backup_id}-{int(time.time() * 1000)}"
        data_dir = work / "data"
        try:
            await asyncio.to_thread(data_dir.mkdir, parents=True)
            if location.kind == "s3":
                ctx.report(progress=1, message="downloading")
            archive = await asyncio.to_thread(self.store.fetch, location, work / "archive.tar.zst")
            ctx.report(progress=10, message="verifying and extracting")
            total = max(1, int(expected["archive"].get("raw_bytes") or 1))

            def _unpack() -> dict[str, Any]:
                with Path(archive).open("rb") as src:
                    return unpack(src, data_dir, expected, lambda done: ctx.report(progress=10 + 60 * done / total))

            await asyncio.to_thread(_unpack)
            ctx.report(progress=70, message="verifying the database and swapping it in")
            info = await self.node.backend.restore(target, data_dir, schema_type=str(expected.get("schema_type", "")))
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)
        elapsed = time.perf_counter() - started
        raw = int(expected["archive"].get("raw_bytes") or 0)
        return {
            "graph_id": info.graph_id,
            "restored_from": str(location),
            "backup_id": location.backup_id,
            "backup_created_at": expected.get("created_at"),
            "node_count": expected.get("node_count"),
            "rel_count": expected.get("rel_count"),
            "duration_seconds": round(elapsed, 3),
            "mb_per_s": round(raw / 1e6 / max(elapsed, 1e-6), 1),
        }

    def _observe(self, operation: str, ok: bool, started: float, size: int) -> None:
        if self.metrics is not None:
            self.metrics.observe_operation(operation, ok, time.perf_counter() - started, size)
