"""Putting archives where they belong and getting them back: the local root or S3 (boto3).

A backup is complete once its sidecar exists: the archive is written (renamed into place, or
uploaded) first and the sidecar last, so listings never show half a backup.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from node_api.core.backup.archive import SIDECAR_SUFFIX, read_sidecar
from node_api.core.backup.errors import BackupError, BackupNotFound
from node_api.core.backup.locations import BACKUP_ID, Location, Locations

_TRANSFER = TransferConfig(multipart_threshold=64 << 20, multipart_chunksize=64 << 20, max_concurrency=4)


class BackupStore:
    def __init__(self, locations: Locations) -> None:
        self.locations = locations
        self._s3: Any = None

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            settings = self.locations.settings
            self._s3 = boto3.client(
                "s3", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region,
                config=Config(retries={"max_attempts": 3, "mode": "standard"}),
            )
        return self._s3

    # ---- writing
    def put(self, location: Location, archive: Path, manifest: dict[str, Any]) -> None:
        body = json.dumps(manifest, indent=2, sort_keys=True).encode()
        if location.kind == "local":
            assert location.path is not None
            location.path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(archive, location.path)
            tmp = location.sidecar_path.with_suffix(".json.tmp")
            tmp.write_bytes(body)
            os.replace(tmp, location.sidecar_path)
            return
        try:
            self.s3.upload_file(str(archive), location.bucket, location.key, Config=_TRANSFER)
            self.s3.put_object(Bucket=location.bucket, Key=location.sidecar_key, Body=body,
                               ContentType="application/json")
        except (ClientError, BotoCoreError) as exc:
            raise BackupError(f"uploading the backup to S3 failed: {exc}") from None
        finally:
            archive.unlink(missing_ok=True)

    # ---- reading
    def read_sidecar(self, location: Location) -> dict[str, Any]:
        if location.kind == "local":
            try:
                data = location.sidecar_path.read_bytes()
            except FileNotFoundError:
                raise BackupNotFound(f"no backup at {location}") from None
        else:
            try:
                data = self.s3.get_object(Bucket=location.bucket, Key=location.sidecar_key)["Body"].read()
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NoSuchBucket"):
                    raise BackupNotFound(f"no backup at {location}") from None
                raise BackupError(f"reading the backup's manifest from S3 failed: {exc}") from None
            except BotoCoreError as exc:
                raise BackupError(f"reading the backup's manifest from S3 failed: {exc}") from None
        manifest = read_sidecar(data)
        if manifest.get("graph_id") != location.graph_id or manifest.get("backup_id") != location.backup_id:
            raise BackupNotFound(f"no backup of {location.graph_id} at {location}")
        return manifest

    def fetch(self, location: Location, work_file: Path) -> Path:
        """A local path to read the archive from: the archive itself, or a download into work_file."""
        if location.kind == "local":
            assert location.path is not None
            if not location.path.is_file():
                raise BackupNotFound(f"no backup at {location}")
            return location.path
        try:
            self.s3.download_file(location.bucket, location.key, str(work_file), Config=_TRANSFER)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise BackupNotFound(f"no backup at {location}") from None
            raise BackupError(f"downloading the backup from S3 failed: {exc}") from None
        except BotoCoreError as exc:
            raise BackupError(f"downloading the backup from S3 failed: {exc}") from None
        return work_file

    def list(self, graph_id: str, kind: str) -> list[tuple[Location, dict[str, Any]]]:
        found: list[tuple[Location, dict[str, Any]]] = []
        if kind == "local":
            directory = self.locations.graph_root(graph_id)
            names = sorted(p.name for p in directory.glob(f"*{SIDECAR_SUFFIX}")) if directory.is_dir() else []
        else:
            prefix = f"{self.locations.settings.s3_prefix}{graph_id}/"
            names = []
            try:
                pages = self.s3.get_paginator("list_objects_v2").paginate(
                    Bucket=self.locations.settings.s3_bucket, Prefix=prefix)
                for page in pages:
                    names.extend(o["Key"][len(prefix):] for o in page.get("Contents", []))
            except (ClientError, BotoCoreError) as exc:
                raise BackupError(f"listing backups in S3 failed: {exc}") from None
        for name in names:
            backup_id = name[: -len(SIDECAR_SUFFIX)]
            if not name.endswith(SIDECAR_SUFFIX) or not BACKUP_ID.fullmatch(backup_id):
                continue
            location = self.locations.for_existing(graph_id, kind, backup_id)
            try:
                found.append((location, self.read_sidecar(location)))
            except BackupError:
                continue  # damaged or foreign: not listed
        return found
