"""Where backups live, and the validation of locations callers send back.

    local   {base}/.backups/{graph_id}/{backup_id}.tar.zst (+ .json sidecar)
    s3      s3://{bucket}/{prefix}{graph_id}/{backup_id}.tar.zst (+ .json sidecar)

A location names exactly one archive of exactly one graph. Anything else is refused before a file
or object is touched: other roots and buckets, relative parts, symlinks that lead out of the root,
names that are not a backup id. A location inside another graph's namespace is a 403: a tenant
never reads another tenant's backups.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from node_api.core.backup.archive import ARCHIVE_SUFFIX, SIDECAR_SUFFIX
from node_api.core.backup.errors import BackupDestinationUnavailable, BackupForbidden, InvalidBackupLocation
from node_api.core.backup.settings import BackupSettings
from node_api.security.paths import InvalidIdentifier, validate_graph_id

BACKUPS_DIR = ".backups"
WORK_DIR = ".work"  # in-progress archives and extractions, cleared at start-up
BACKUP_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}-\d{8}T\d{6}Z-[0-9a-f]{8}$")


def new_backup_id(graph_id: str) -> str:
    return f"{graph_id}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Location:
    kind: str  # "local" | "s3"
    graph_id: str
    backup_id: str
    path: Path | None = None  # local: the archive
    bucket: str | None = None
    key: str | None = None  # s3: the archive's key

    @property
    def sidecar_path(self) -> Path:
        assert self.path is not None
        return self.path.with_name(self.backup_id + SIDECAR_SUFFIX)

    @property
    def sidecar_key(self) -> str:
        assert self.key is not None
        return self.key[: -len(ARCHIVE_SUFFIX)] + SIDECAR_SUFFIX

    def __str__(self) -> str:
        return str(self.path) if self.kind == "local" else f"s3://{self.bucket}/{self.key}"


class Locations:
    def __init__(self, base_path: Path, settings: BackupSettings) -> None:
        self.root = (base_path / BACKUPS_DIR).resolve()
        self.work = self.root / WORK_DIR
        self.settings = settings

    def graph_root(self, graph_id: str) -> Path:
        return self.root / validate_graph_id(graph_id)

    def for_new(self, graph_id: str, kind: str) -> Location:
        return self.for_existing(graph_id, kind, new_backup_id(graph_id))

    def for_existing(self, graph_id: str, kind: str, backup_id: str) -> Location:
        if kind == "s3":
            bucket = self._bucket()
            return Location("s3", graph_id, backup_id, bucket=bucket,
                            key=f"{self.settings.s3_prefix}{graph_id}/{backup_id}{ARCHIVE_SUFFIX}")
        return Location("local", graph_id, backup_id, path=self.graph_root(graph_id) / f"{backup_id}{ARCHIVE_SUFFIX}")

    def parse(self, location: str, graph_id: str) -> Location:
        """A caller's location for graph_id's backup; raises InvalidBackupLocation / BackupForbidden."""
        if not isinstance(location, str) or not 1 <= len(location) <= 1024 or any(
            c in location for c in "\x00\n\r\\"
        ):
            raise InvalidBackupLocation("location must be 1-1024 characters, without control characters")
        if location.startswith("s3://"):
            return self._parse_s3(location, graph_id)
        if "://" in location or not location.startswith("/"):
            raise InvalidBackupLocation(
                "location must be an absolute path under the node's backup root or an s3:// URL",
                backup_root=str(self.root),
            )
        return self._parse_local(location, graph_id)

    def _parse_local(self, location: str, graph_id: str) -> Location:
        parts = PurePosixPath(location).parts
        if any(p in (".", "..") for p in parts) or "//" in location:
            raise InvalidBackupLocation("location may not contain '.', '..' or empty path parts")
        path = Path(location)
        if path.parent.parent != self.root:
            raise InvalidBackupLocation("location is not in this node's backup root", backup_root=str(self.root))
        owner, backup_id = self._owner_and_id(path.parent.name, path.name)
        if owner != graph_id:
            raise BackupForbidden(f"that backup belongs to another graph, not {graph_id}")
        # Symlinks planted under the root must not lead anywhere else.
        if path.exists() and path.resolve() != path:
            raise InvalidBackupLocation("location resolves outside the node's backup root")
        return Location("local", graph_id, backup_id, path=path)

    def _parse_s3(self, location: str, graph_id: str) -> Location:
        parts = urlsplit(location)
        bucket = self._bucket()
        if parts.netloc != bucket or parts.query or parts.fragment:
            raise InvalidBackupLocation(f"S3 backups are read from s3://{bucket}/ only")
        key = parts.path.lstrip("/")
        prefix = self.settings.s3_prefix
        if not key.startswith(prefix):
            raise InvalidBackupLocation(f"S3 backups live under s3://{bucket}/{prefix}")
        rest = key[len(prefix):].split("/")
        if len(rest) != 2:
            raise InvalidBackupLocation("an S3 backup location is {prefix}{graph_id}/{backup_id}.tar.zst")
        owner, backup_id = self._owner_and_id(rest[0], rest[1])
        if owner != graph_id:
            raise BackupForbidden(f"that backup belongs to another graph, not {graph_id}")
        return Location("s3", graph_id, backup_id, bucket=bucket, key=key)

    @staticmethod
    def _owner_and_id(owner: str, name: str) -> tuple[str, str]:
        if not name.endswith(ARCHIVE_SUFFIX):
            raise InvalidBackupLocation(f"a backup location names a {ARCHIVE_SUFFIX} archive")
        backup_id = name[: -len(ARCHIVE_SUFFIX)]
        try:
            validate_graph_id(owner)
        except InvalidIdentifier:
            raise InvalidBackupLocation("location does not name a graph's backup") from None
        if not BACKUP_ID.fullmatch(backup_id) or not backup_id.startswith(owner + "-"):
            raise InvalidBackupLocation("location does not name a backup this node wrote")
        return owner, backup_id

    def _bucket(self) -> str:
        if not self.settings.s3_bucket:
            raise BackupDestinationUnavailable("S3 backups are not configured on this node (GRAPH_API_BACKUP_S3_BUCKET)")
        return self.settings.s3_bucket
