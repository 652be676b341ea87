"""Bodies of backup and restore (POST /databases/{graph_id}/backup|restore, GET .../backups)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from node_api.security.paths import GRAPH_ID_PATTERN


class BackupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    destination: Literal["local", "s3"] = Field(
        "local",
        description="local: the node's backup root ({base}/.backups/{graph_id}/); s3: the node's configured "
        "backup bucket (GRAPH_API_BACKUP_S3_BUCKET), under {prefix}{graph_id}/.",
    )
    format: Literal["native", "portable"] = Field(
        "native",
        description="native: the engine's own files (restores on the same engine and version only); portable: "
        "the schema as Cypher DDL plus one Parquet file per table, which either embedded engine (Kuzu, "
        "LadybugDB) restores (docs/engine-migration.md). A restore reads the format from the manifest.",
    )


class RestoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location: str = Field(
        min_length=1, max_length=1024,
        description="A backup's location as GET /databases/{graph_id}/backups lists it: a path in the node's "
        "backup root, or s3://{backup bucket}/{prefix}{graph_id}/{backup_id}.tar.zst.",
    )
    target_graph_id: str | None = Field(
        None, pattern=GRAPH_ID_PATTERN,
        description="Restore as this database instead (it must not exist yet). Default: the graph itself, "
        "replaced once the restored copy is verified.",
    )


class BackupSummary(BaseModel):
    backup_id: str
    location: str
    destination: str
    graph_id: str
    created_at: str
    engine: str
    engine_version: str
    backup_format: str = Field("native", description="native or portable (the manifest's backup_format)")
    schema_type: str | None = None
    size_bytes: int
    raw_bytes: int
    sha256: str
    key_id: str | None = Field(None, description="The signing key's id (signing.py); null: unsigned.")
    trusted: bool | None = Field(
        None, description="Whether the signature verifies with this cluster's keys (a restore refuses the "
        "backup otherwise: backup_untrusted); null when the keys cannot be read right now.")
    node_count: int | None = None
    rel_count: int | None = None
    row_counts: dict[str, dict[str, int]] = Field(default_factory=dict)

    @classmethod
    def of(cls, manifest: dict[str, Any]) -> BackupSummary:
        archive = manifest["archive"]
        return cls(
            backup_id=manifest["backup_id"], location=manifest["location"], destination=manifest["destination"],
            graph_id=manifest["graph_id"], created_at=str(manifest.get("created_at")),
            engine=str(manifest.get("engine")), engine_version=str(manifest.get("engine_version")),
            backup_format=str(manifest.get("backup_format") or "native"),
            schema_type=manifest.get("schema_type"), size_bytes=archive["size_bytes"],
            raw_bytes=archive.get("raw_bytes", 0), sha256=archive["sha256"],
            key_id=signature.get("key_id") if isinstance(signature := manifest.get("signature"), dict) else None,
            trusted=manifest.get("trusted"),
            node_count=manifest.get("node_count"), rel_count=manifest.get("rel_count"),
            row_counts=manifest.get("row_counts") or {},
        )


    @classmethod
    def parse(cls, manifest: dict[str, Any]) -> BackupSummary | None:
        """The summary, or None for a manifest that is not one this node could have written (it is
        not listed, as damaged ones are not)."""
        try:
            return cls.of(manifest)
        except (KeyError, TypeError, ValueError):  # pydantic's ValidationError is a ValueError
            return None


class BackupListResponse(BaseModel):
    graph_id: str
    backups: Sequence[BackupSummary]  # Sequence: client/models.py narrows the item class
    total: int
