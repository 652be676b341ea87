"""The on-disk layout of the embedded databases of one node.

    {base}/{graph_id}/meta.json      schema type, creation time, engine and its version
    {base}/{graph_id}/graph.kuzu     the engine's database file (graph.lbug for LadybugDB), plus its WAL
    {base}/.creating/                databases being built; renamed into place when complete
    {base}/.trash/                   deleted databases, removed in the background

A database exists once its directory holds meta.json: creation writes meta.json last and renames
the finished directory into place, so a crash never leaves a half-built database visible.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from node_api.backends.embedded.profiles import EngineProfile
from node_api.security.paths import graph_dir, validate_graph_id

META_FILE = "meta.json"
EXPORT_PREFIX = ".export-"  # scratch directories of exports inside a graph's directory (backup.py, rebuild.py)


@dataclass(frozen=True)
class GraphMeta:
    graph_id: str
    schema_type: str
    created_at: datetime
    engine: str
    engine_version: str

    def to_json(self) -> dict[str, str]:
        return {
            "graph_id": self.graph_id,
            "schema_type": self.schema_type,
            "created_at": self.created_at.isoformat(),
            "engine": self.engine,
            "engine_version": self.engine_version,
        }

    @classmethod
    def from_json(cls, data: dict[str, str]) -> GraphMeta:
        return cls(
            graph_id=data["graph_id"],
            schema_type=data["schema_type"],
            created_at=datetime.fromisoformat(data["created_at"]),
            engine=data.get("engine", "kuzu"),
            engine_version=data.get("engine_version", ""),
        )


class Catalog:
    def __init__(self, base_path: Path, profile: EngineProfile) -> None:
        self.profile = profile
        self.node_files = profile.engine_files | {META_FILE}  # replaced by a swap; the rest is carried
        self.base = base_path.resolve()
        self.creating = self.base / ".creating"
        self.trash = self.base / ".trash"

    def prepare(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        # Leftovers of a crash: half-built and deleted databases are never served, and exports a worker
        # was writing inside a graph's directory (portable backups, schema exports) are dropped.
        for leftover in (self.creating, self.trash):
            shutil.rmtree(leftover, ignore_errors=True)
            leftover.mkdir()
        for export in self.base.glob(f"*/{EXPORT_PREFIX}*"):
            shutil.rmtree(export, ignore_errors=True)

    def graph_dir(self, graph_id: str) -> Path:
        return graph_dir(self.base, graph_id)

    def graph_file(self, graph_id: str) -> Path:
        return self.graph_dir(graph_id) / self.profile.graph_file

    def build_file(self, build_dir: Path) -> Path:
        return build_dir / self.profile.graph_file

    def exists(self, graph_id: str) -> bool:
        return (self.graph_dir(graph_id) / META_FILE).is_file()

    def load_all(self) -> dict[str, GraphMeta]:
        found: dict[str, GraphMeta] = {}
        for entry in sorted(self.base.iterdir()):
            if entry.name.startswith(".") or not (entry / META_FILE).is_file():
                continue
            try:
                validate_graph_id(entry.name)
                meta = GraphMeta.from_json(json.loads((entry / META_FILE).read_text()))
            except (ValueError, KeyError, json.JSONDecodeError):
                continue  # not ours, or damaged: never served
            found[entry.name] = meta
        return found

    def new_build_dir(self, graph_id: str) -> Path:
        path = self.creating / f"{graph_id}-{uuid.uuid4().hex[:8]}"
        path.mkdir()
        return path

    @staticmethod
    def write_meta(directory: Path, meta: GraphMeta) -> None:
        tmp = directory / (META_FILE + ".tmp")
        tmp.write_text(json.dumps(meta.to_json()))
        os.replace(tmp, directory / META_FILE)

    def publish(self, build_dir: Path, graph_id: str) -> None:
        """Moves a finished build into place; fails if the graph appeared meanwhile."""
        target = self.graph_dir(graph_id)
        os.rename(build_dir, target)  # atomic; raises if target exists and is not empty

    def swap_in(self, build_dir: Path, graph_id: str) -> None:
        """Replaces an existing graph directory with a finished build (restore, rebuild).

        Only the engine's files are replaced: whatever else lives in the graph's directory (the
        node's staging data) is carried into the build first, and put back if the swap fails."""
        target = self.graph_dir(graph_id)
        carried: list[str] = []
        if target.exists():
            for entry in target.iterdir():
                if entry.name not in self.node_files and not (build_dir / entry.name).exists():
                    os.rename(entry, build_dir / entry.name)
                    carried.append(entry.name)
        old = self.trash / f"{graph_id}-{uuid.uuid4().hex[:8]}"
        try:
            if target.exists():
                os.rename(target, old)
            os.rename(build_dir, target)
        except BaseException:
            if old.exists() and not target.exists():
                os.rename(old, target)
            for name in carried:
                os.rename(build_dir / name, target / name)
            raise
        shutil.rmtree(old, ignore_errors=True)

    def remove(self, graph_id: str) -> None:
        target = self.graph_dir(graph_id)
        old = self.trash / f"{graph_id}-{uuid.uuid4().hex[:8]}"
        os.rename(target, old)  # the graph disappears at once; the bytes go after
        shutil.rmtree(old, ignore_errors=True)

    @staticmethod
    def size_bytes(directory: Path) -> int:
        total = 0
        for root, _dirs, files in os.walk(directory):
            for name in files:
                try:
                    total += os.stat(os.path.join(root, name)).st_size
                except FileNotFoundError:
                    pass
        return total

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)
