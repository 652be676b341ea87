"""The backup archive: a tar stream of the engine's files, zstd-compressed, with a manifest.

    {backup_id}.tar.zst   backup-manifest.json first, then the files the backend wrote (flat names)
    {backup_id}.json      the same manifest plus the archive's size and sha256 (the "sidecar")

The sidecar answers listings and the pre-checks of a restore without reading the archive. The
sha256 covers every byte of the compressed archive; a restore hashes while it extracts and refuses
the result (before anything is replaced) on any mismatch, on members the manifest does not list,
or on sizes that differ. zstd comes from pyarrow's codec (no extra dependency); the frames are
standard (`zstd -d < x.tar.zst | tar t` lists an archive).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa

from node_api.core.backup.errors import BackupCorrupt

FORMAT = "graph-backup/1"
ARCHIVE_SUFFIX = ".tar.zst"
SIDECAR_SUFFIX = ".json"
MANIFEST_NAME = "backup-manifest.json"  # apart from any manifest.json a backend writes itself
COMPRESSION = "zstd"
_CHUNK = 4 << 20
_MAX_MANIFEST_BYTES = 16 << 20
_MEMBER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

Progress = Callable[[int], None]  # bytes done so far


@dataclass(frozen=True)
class ArchiveInfo:
    sha256: str
    size_bytes: int  # compressed
    raw_bytes: int  # the files inside, uncompressed


class _HashingWriter(io.RawIOBase):
    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self.hash = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.hash.update(view)
        self.size += len(view)
        self._out.write(view)
        return len(view)


class _HashingReader(io.RawIOBase):
    def __init__(self, src: BinaryIO) -> None:
        self._src = src
        self.hash = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._src.readinto(buffer)
        if n:
            self.hash.update(memoryview(buffer)[:n])
            self.size += n
        return n or 0

    def drain(self) -> None:
        """Hashes what the decompressor left unread (end-of-archive padding, a tampered tail)."""
        while chunk := self._src.read(_CHUNK):
            self.hash.update(chunk)
            self.size += len(chunk)


def file_entries(directory: Path) -> list[dict[str, Any]]:
    """The files a backend wrote into a backup directory, in archive order."""
    entries = []
    for path in sorted(directory.iterdir()):
        if path.name == MANIFEST_NAME:
            continue
        if not path.is_file() or path.is_symlink() or not _MEMBER_NAME.fullmatch(path.name):
            raise ValueError(f"backup directory holds an unexpected entry: {path.name}")
        entries.append({"name": path.name, "size": path.stat().st_size})
    return entries


def pack(source_dir: Path, manifest: dict[str, Any], out_path: Path, progress: Progress | None = None) -> ArchiveInfo:
    """Writes manifest + the files of source_dir as one compressed tar; returns its checksum."""
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    raw = 0
    with out_path.open("wb") as out:
        hashing = _HashingWriter(out)
        compressed = pa.CompressedOutputStream(hashing, COMPRESSION)
        with tarfile.open(fileobj=compressed, mode="w|", format=tarfile.PAX_FORMAT, bufsize=_CHUNK) as tar:
            tar.copybufsize = _CHUNK
            info = tarfile.TarInfo(MANIFEST_NAME)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
            for entry in manifest["files"]:
                path = source_dir / entry["name"]
                info = tarfile.TarInfo(entry["name"])
                info.size = entry["size"]
                info.mode = 0o600
                with path.open("rb") as src:
                    tar.addfile(info, src)
                raw += entry["size"]
                if progress:
                    progress(raw)
        compressed.close()
        out.flush()
    return ArchiveInfo(hashing.hash.hexdigest(), hashing.size, raw)


def unpack(
    archive: BinaryIO, dest_dir: Path, expected: dict[str, Any], progress: Progress | None = None
) -> dict[str, Any]:
    """Extracts into dest_dir (which must be empty), checking every member against the sidecar
    `expected` and the archive bytes against its sha256. Raises BackupCorrupt on any mismatch;
    the caller removes dest_dir then. Returns the manifest found inside the archive."""
    declared = {f["name"]: int(f["size"]) for f in expected["files"]}
    reader = _HashingReader(archive)
    manifest: dict[str, Any] | None = None
    seen: set[str] = set()
    done = 0
    try:
        stream = pa.CompressedInputStream(reader, COMPRESSION)
        with tarfile.open(fileobj=stream, mode="r|", bufsize=_CHUNK) as tar:
            for member in tar:
                name = member.name
                if not member.isreg() or name in seen:
                    raise BackupCorrupt(f"unexpected archive member {name!r}")
                seen.add(name)
                src = tar.extractfile(member)
                assert src is not None
                if name == MANIFEST_NAME:
                    if member.size > _MAX_MANIFEST_BYTES:
                        raise BackupCorrupt("the archive's manifest is implausibly large")
                    body = src.read()
                    manifest = json.loads(body)
                    (dest_dir / MANIFEST_NAME).write_bytes(body)  # the backend's restore reads it
                    continue
                if declared.get(name) != member.size:  # also refuses names not in the manifest
                    raise BackupCorrupt(f"archive member {name!r} is not the file the manifest lists")
                with (dest_dir / name).open("xb") as out:  # flat, validated name: no path tricks
                    while chunk := src.read(_CHUNK):
                        out.write(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done)
        reader.drain()
    except BackupCorrupt:
        raise
    except (tarfile.TarError, OSError, ValueError, pa.ArrowException) as exc:
        raise BackupCorrupt(f"the archive is damaged: {exc}") from None
    if reader.hash.hexdigest() != expected["archive"]["sha256"] or reader.size != expected["archive"]["size_bytes"]:
        raise BackupCorrupt("the archive's sha256 does not match its manifest: refusing to restore it")
    if manifest is None or seen - {MANIFEST_NAME} != set(declared):
        raise BackupCorrupt("the archive does not hold every file its manifest lists")
    if any(manifest.get(k) != expected.get(k) for k in ("backup_id", "graph_id", "engine", "engine_version", "files")):
        raise BackupCorrupt("the manifest inside the archive differs from the one beside it")
    return manifest


def sidecar(manifest: dict[str, Any], info: ArchiveInfo) -> dict[str, Any]:
    return {**manifest, "archive": {"sha256": info.sha256, "size_bytes": info.size_bytes,
                                    "raw_bytes": info.raw_bytes, "compression": COMPRESSION}}


def read_sidecar(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
        ok = (isinstance(value, dict) and value.get("format") == FORMAT and isinstance(value.get("files"), list)
              and isinstance(value.get("archive"), dict) and isinstance(value["archive"].get("sha256"), str))
    except ValueError:
        ok = False
    if not ok:
        raise BackupCorrupt(f"the backup's manifest is unreadable or not {FORMAT}")
    return value
