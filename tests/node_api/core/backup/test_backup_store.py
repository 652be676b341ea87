"""The S3 store (moto's server): archives stream into a multipart upload; a backup that fails midway
leaves no object and no open upload; downloads are verified as they stream in."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

import pytest

from node_api.core.backup.errors import BackupCorrupt, BackupError
from node_api.core.backup.locations import Locations
from node_api.core.backup.settings import BackupSettings
from node_api.core.backup.store import BackupStore
from tests.node_api.core.helpers import BUCKET

PART = 32 << 20  # the store's multipart part size


@pytest.fixture
def store(s3, tmp_path: Path) -> BackupStore:  # noqa: ANN001 - boto3 client
    locations = Locations(tmp_path, BackupSettings())
    locations.work.mkdir(parents=True)
    return BackupStore(locations)


def _chunks(total: int) -> list[bytes]:
    block = hashlib.sha256(b"seed").digest() * (1 << 15)  # 1 MiB, not compressible by S3 anyway
    return [block] * (total // len(block))


def _open_uploads(s3) -> list:  # noqa: ANN001
    return s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])


def test_streamed_multipart_upload_round_trip(store: BackupStore, s3, tmp_path: Path) -> None:  # noqa: ANN001
    location = store.locations.for_new("gstream", "s3")
    chunks = _chunks(PART * 2 + (5 << 20))  # three parts

    def produce(out: BinaryIO) -> str:
        digest = hashlib.sha256()
        for chunk in chunks:
            out.write(chunk)
            digest.update(chunk)
        return digest.hexdigest()

    sha = store.write_archive(location, produce)
    head = s3.head_object(Bucket=BUCKET, Key=location.key)
    assert head["ContentLength"] == sum(map(len, chunks)) and head["ETag"].endswith('-3"')  # multipart
    copy = store.verified_copy(location, sha, head["ContentLength"], tmp_path / "copy")
    assert copy == tmp_path / "copy" and hashlib.sha256(copy.read_bytes()).hexdigest() == sha
    with pytest.raises(BackupCorrupt):
        store.verified_copy(location, "0" * 64, head["ContentLength"], tmp_path / "copy2")


def test_a_backup_failing_midway_leaves_nothing_in_s3(store: BackupStore, s3) -> None:  # noqa: ANN001
    location = store.locations.for_new("gfail", "s3")

    def produce(out: BinaryIO) -> None:
        for chunk in _chunks(PART + (8 << 20)):  # past the first part: the multipart upload has begun
            out.write(chunk)
        raise BackupError("the engine copy failed")

    with pytest.raises(BackupError, match="engine copy failed"):
        store.write_archive(location, produce)
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="graph-backups/gfail/").get("KeyCount") == 0
    assert [u for u in _open_uploads(s3) if u["Key"] == location.key] == []


def test_an_upload_failing_fails_the_backup(store: BackupStore) -> None:
    store.locations.settings.s3_bucket = "no-such-bucket"
    location = store.locations.for_new("gnobucket", "s3")

    def produce(out: BinaryIO) -> str:
        for chunk in _chunks(PART * 2):
            out.write(chunk)  # or BrokenPipeError, once the upload has given up
        return "done"

    with pytest.raises(BackupError, match=r"uploading the backup to S3 failed \(NoSuchBucket\)"):
        store.write_archive(location, produce)
