"""Putting archives where they belong and getting them back: the local root or S3 (boto3).

A backup is complete once its manifest (the sidecar) exists: the archive is written first (renamed
into place, or uploaded) and the sidecar last, so listings never show half a backup; deletion goes
the other way round. Uploads stream: the archive is compressed straight into a multipart upload
(boto3's managed transfer, parts uploaded concurrently), with no local copy. Downloads stream into
a work file while hashing, so a restore extracts only from a local copy whose sha256 it checked.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from node_api.core.backup.archive import ARCHIVE_SUFFIX, SIDECAR_SUFFIX, hash_stream
from node_api.core.backup.errors import BackupCorrupt, BackupError, BackupNotFound
from node_api.core.backup.locations import BACKUP_ID, Location, Locations

T = TypeVar("T")
_MAX_SIDECAR_BYTES = 16 << 20


def _transfer_config() -> TransferConfig:
    # 32 MiB parts: S3 allows 10,000, so archives up to 312 GiB; four in flight and at most four
    # buffered bound an upload's memory to ~256 MiB.
    config = TransferConfig(multipart_threshold=32 << 20, multipart_chunksize=32 << 20, max_concurrency=4)
    config.max_in_memory_upload_chunks = 4
    return config


_TRANSFER = _transfer_config()


class _PipeReader:
    """The read end of the pipe an upload consumes. EOF before the writer finished means the backup
    failed: reading raises then, and boto3 aborts the multipart upload instead of completing it."""

    def __init__(self, fd: int, finished: threading.Event) -> None:
        self._file = os.fdopen(fd, "rb")
        self._finished = finished

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        if not data and size != 0 and not self._finished.is_set():
            raise BackupError("the backup stopped before its archive was complete")
        return data

    def close(self) -> None:
        self._file.close()


class _HashingSink:
    """A non-seekable file for boto3's download: parts arrive in order, hashed as they are written."""

    def __init__(self, out: BinaryIO) -> None:
        import hashlib

        self._out = out
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self._out.write(data)


def _s3_error(what: str, exc: Exception) -> BackupError:
    code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else type(exc).__name__
    return BackupError(f"{what} failed ({code})")


def _not_found(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NoSuchBucket")


@contextmanager
def _reading_s3(what: str, location: Location) -> Iterator[None]:
    """S3 errors of a read, in the backup service's words: a missing key or bucket is BackupNotFound,
    anything else BackupError naming `what`."""
    try:
        yield
    except ClientError as exc:
        if _not_found(exc):
            raise BackupNotFound(f"no backup at {location}") from None
        raise _s3_error(what, exc) from None
    except BotoCoreError as exc:
        raise _s3_error(what, exc) from None


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
    def write_archive(self, location: Location, produce: Callable[[BinaryIO], T]) -> T:
        """Runs produce(out) with `out` the archive's destination: a work file renamed into place, or
        a stream into S3's multipart upload. Nothing is left behind if produce raises."""
        if location.kind == "local":
            return self._write_local(location, produce)
        return self._upload(location, produce)

    def _write_local(self, location: Location, produce: Callable[[BinaryIO], T]) -> T:
        assert location.path is not None
        part = self.locations.work / f"{location.backup_id}{ARCHIVE_SUFFIX}.part"
        try:
            with part.open("xb") as out:
                result = produce(out)
            location.path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, location.path)  # the work area is on the same file system
        finally:
            part.unlink(missing_ok=True)
        return result

    def _upload(self, location: Location, produce: Callable[[BinaryIO], T]) -> T:
        read_fd, write_fd = os.pipe()
        finished = threading.Event()
        reader = _PipeReader(read_fd, finished)
        failure: list[BaseException] = []

        def upload() -> None:
            try:
                self.s3.upload_fileobj(reader, location.bucket, location.key, Config=_TRANSFER)
            except BaseException as exc:  # noqa: BLE001 - reported by the producing thread
                failure.append(exc)
            finally:
                reader.close()  # a writer still writing gets BrokenPipeError

        uploader = threading.Thread(target=upload, name=f"upload-{location.backup_id}", daemon=True)
        uploader.start()
        try:
            with os.fdopen(write_fd, "wb", buffering=0) as out:
                try:
                    result = produce(out)
                except BrokenPipeError:
                    result = None  # the upload failed first: its error is the one to report
                else:
                    finished.set()
        finally:
            uploader.join()
        if failure:
            exc = failure[0]
            if isinstance(exc, ClientError | BotoCoreError):
                raise _s3_error("uploading the backup to S3", exc) from None
            raise BackupError("the backup stopped before its archive was uploaded") from None
        assert result is not None
        return result

    def put_sidecar(self, location: Location, manifest: dict[str, Any]) -> None:
        body = json.dumps(manifest, indent=2, sort_keys=True).encode()
        if location.kind == "local":
            tmp = self.locations.work / f"{location.backup_id}{SIDECAR_SUFFIX}.part"
            tmp.write_bytes(body)
            os.replace(tmp, location.sidecar_path)
            return
        try:
            self.s3.put_object(Bucket=location.bucket, Key=location.sidecar_key, Body=body,
                               ContentType="application/json")
        except (ClientError, BotoCoreError) as exc:
            self.delete(location)
            raise _s3_error("storing the backup's manifest in S3", exc) from None

    def delete(self, location: Location) -> None:
        """Removes a backup: its manifest first (so it is never listed without its archive)."""
        if location.kind == "local":
            location.sidecar_path.unlink(missing_ok=True)
            assert location.path is not None
            location.path.unlink(missing_ok=True)
            return
        try:
            for key in (location.sidecar_key, location.key):
                self.s3.delete_object(Bucket=location.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise _s3_error("deleting a backup from S3", exc) from None

    # ---- reading
    def read_sidecar(self, location: Location) -> dict[str, Any]:
        """The backup's manifest as stored (not verified: see signing.py), or BackupNotFound."""
        if location.kind == "local":
            try:
                with location.sidecar_path.open("rb") as src:
                    data = src.read(_MAX_SIDECAR_BYTES + 1)
            except FileNotFoundError:
                raise BackupNotFound(f"no backup at {location}") from None
        else:
            with _reading_s3("reading the backup's manifest from S3", location):
                data = self.s3.get_object(Bucket=location.bucket, Key=location.sidecar_key,
                                          Range=f"bytes=0-{_MAX_SIDECAR_BYTES}")["Body"].read()
        if len(data) > _MAX_SIDECAR_BYTES:
            raise BackupCorrupt("the backup's manifest is implausibly large")
        try:
            manifest = json.loads(data)
        except ValueError:
            manifest = None
        archive = manifest.get("archive") if isinstance(manifest, dict) else None
        if not isinstance(archive, dict) or not isinstance(archive.get("sha256"), str) \
                or type(archive.get("size_bytes")) is not int:
            raise BackupCorrupt("the backup's manifest is unreadable")
        if manifest.get("graph_id") != location.graph_id or manifest.get("backup_id") != location.backup_id:
            raise BackupNotFound(f"no backup of {location.graph_id} at {location}")
        return manifest

    def verified_copy(self, location: Location, sha256: str, size: int, work_file: Path) -> Path:
        """A local path holding the archive whose sha256 and size were just checked: the archive
        itself (local), or a download into work_file, hashed as it streams in. Raises BackupCorrupt."""
        if location.kind == "local":
            assert location.path is not None
            try:
                with location.path.open("rb") as src:
                    found = hash_stream(src)
            except FileNotFoundError:
                raise BackupNotFound(f"no backup at {location}") from None
            path = location.path
        else:
            with work_file.open("xb") as out:
                sink = _HashingSink(out)
                with _reading_s3("downloading the backup from S3", location):
                    self.s3.download_fileobj(location.bucket, location.key, sink, Config=_TRANSFER)
            found = (sink.hash.hexdigest(), sink.size)
            path = work_file
        if found != (sha256, size):
            raise BackupCorrupt("the archive's sha256 does not match its manifest: refusing to restore it")
        return path

    def list(self, graph_id: str, kind: str) -> list[tuple[Location, dict[str, Any]]]:
        """The complete backups of a graph in one destination, with their stored manifests."""
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
                raise _s3_error("listing backups in S3", exc) from None
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
