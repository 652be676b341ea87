"""The backup archive: a tar stream of the backend's files, zstd-compressed, beside a signed manifest.

    {backup_id}.tar.zst   the files the backend wrote, flat names matching its `backup_file_pattern`
    {backup_id}.json      the manifest ("sidecar"): the backend's facts, every file's name, size and
                          sha256, the archive's size and sha256, and an HMAC-SHA256 signature over
                          all of it (signing.py)

The frames are standard zstd (`zstd -d < x.tar.zst | tar t` lists an archive). Compression runs on
libzstd's worker threads (the `zstandard` binding, threads=-1: one per core) while this thread
tars and hashes; both libraries release the GIL, so a backup keeps every core busy.

Extraction trusts nothing in the archive, signed or not. Before any byte of a member is written:
its name must be one the manifest lists and the backend's pattern allows (flat: no `/`, no `..`),
it must be a regular file (links, devices, directories refused) passing tarfile's `data` filter, and
its size must be the manifest's. Files are created with O_EXCL|O_NOFOLLOW in a fresh, empty directory.
The decompressed stream is capped at the declared bytes plus tar's header overhead, so a
decompression bomb stops at the cap. Any failure raises BackupCorrupt; the caller removes the directory.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import zstandard

from node_api.core.backup.errors import BackupCorrupt

FORMAT = "graph-backup/2"
ARCHIVE_SUFFIX = ".tar.zst"
SIDECAR_SUFFIX = ".json"
# The verified manifest is written beside the extracted files under this name for the backend's
# restore (Kuzu reads its schema and row counts). It is never an archive member.
MANIFEST_NAME = "backup-manifest.json"
COMPRESSION = "zstd"
CHUNK = 4 << 20
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# tar overhead the cap allows beyond the declared bytes: per member a header block, a pax header
# (two blocks) and padding; the end-of-archive blocks and record padding (10 KiB); tarfile's
# read-ahead of one buffer (CHUNK) past what was extracted.
_HEADER_ALLOWANCE = 4 << 10
_STREAM_ALLOWANCE = 2 * CHUNK + (64 << 10)
# libzstd's default decoding window limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27): a frame asking for a
# larger window (more memory) is refused. Level 1-19 frames never need more.
_MAX_WINDOW = 1 << 27

Progress = Callable[[int], None]  # bytes of files done so far


@dataclass(frozen=True)
class ArchiveInfo:
    sha256: str
    size_bytes: int  # compressed
    raw_bytes: int  # the files inside, uncompressed

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size_bytes": self.size_bytes, "raw_bytes": self.raw_bytes,
                "compression": COMPRESSION}


@dataclass(frozen=True)
class Packed:
    archive: ArchiveInfo
    files: list[dict[str, Any]]  # {"name", "size", "sha256"} in archive order


class _HashingWriter(io.RawIOBase):
    """Hashes and counts what passes to `out` (the compressed archive)."""

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
    """Hashes and counts what is read from `src`."""

    def __init__(self, src: io.BufferedIOBase) -> None:
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

    def read(self, size: int = -1) -> bytes:
        data = self._src.read(size)
        self.hash.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        """Hashes what the decompressor left unread (end-of-archive padding, a tampered tail)."""
        while chunk := self._src.read(CHUNK):
            self.hash.update(chunk)
            self.size += len(chunk)


class _Capped(io.RawIOBase):
    """The decompressed tar stream, refused once it runs past the files extracted so far plus tar's
    overhead: a decompression bomb (or a huge pax header tarfile would read into memory) stops here."""

    def __init__(self, src: Any, members: int) -> None:
        self._src = src
        self._members = members
        self.read_bytes = 0
        self.extracted = 0  # advanced by the extractor as member bytes are written

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._src.read(size if size is not None and size >= 0 else CHUNK)
        self.read_bytes += len(data)
        if self.read_bytes > self.extracted + _STREAM_ALLOWANCE + _HEADER_ALLOWANCE * (self._members + 2):
            raise BackupCorrupt("the archive decompresses to more than its manifest declares: refused")
        return data


def hash_stream(src: BinaryIO) -> tuple[str, int]:
    """(sha256 hex, size) of everything left in src."""
    digest = hashlib.sha256()
    size = 0
    while chunk := src.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def scan(directory: Path, pattern: re.Pattern[str]) -> list[str]:
    """The names of the files a backend wrote into a backup directory, in archive order. Raises
    ValueError on anything else there: the archive never holds what its backend would not restore."""
    names = []
    for path in sorted(directory.iterdir()):
        mode = path.lstat().st_mode
        if not stat.S_ISREG(mode) or not pattern.fullmatch(path.name):
            raise ValueError(f"the backend left an unexpected entry in its backup directory: {path.name!r}")
        names.append(path.name)
    return names


def pack(source_dir: Path, names: Iterable[str], out: BinaryIO, *, level: int = 1, threads: int = -1,
         progress: Progress | None = None) -> Packed:
    """Writes the named files of source_dir as one zstd-compressed tar into `out` (not closed);
    returns each file's size and sha256 and the archive's. threads=-1: one compression worker per core."""
    hashing = _HashingWriter(out)
    files: list[dict[str, Any]] = []
    raw = 0
    compressor = zstandard.ZstdCompressor(level=level, threads=threads, write_checksum=True)
    # zstandard's stub asks for IO[bytes]; stream_writer calls only write() and flush().
    with (compressor.stream_writer(hashing, closefd=False, write_size=CHUNK) as compressed,  # type: ignore[arg-type]
          tarfile.open(fileobj=compressed, mode="w|", format=tarfile.PAX_FORMAT, bufsize=CHUNK) as tar):
        tar.copybufsize = CHUNK  # type: ignore[attr-defined]  # set by TarFile.__init__; typeshed omits it
        for name in names:
            fd = os.open(source_dir / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            with os.fdopen(fd, "rb") as src:
                size = os.fstat(fd).st_size
                info = tarfile.TarInfo(name)
                info.size = size
                info.mode = 0o600
                reader = _HashingReader(src)
                tar.addfile(info, reader)
            files.append({"name": name, "size": size, "sha256": reader.hash.hexdigest()})
            raw += size
            if progress:
                progress(raw)
    return Packed(ArchiveInfo(hashing.hash.hexdigest(), hashing.size, raw), files)


def declared_files(manifest: dict[str, Any], pattern: re.Pattern[str]) -> dict[str, tuple[int, str]]:
    """name -> (size, sha256) of the files a manifest lists, each checked against the backend's
    pattern. Raises BackupCorrupt on a malformed list: nothing is extracted from such a backup."""
    files = manifest.get("files")
    archive = manifest.get("archive")
    if not isinstance(files, list) or not isinstance(archive, dict):
        raise BackupCorrupt("the backup's manifest lists no files")
    declared: dict[str, tuple[int, str]] = {}
    for entry in files:
        name = entry.get("name") if isinstance(entry, dict) else None
        size = entry.get("size") if isinstance(entry, dict) else None
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not pattern.fullmatch(name) or name == MANIFEST_NAME or name in declared:
            raise BackupCorrupt(f"the backup's manifest lists a file this backend never writes: {name!r}")
        if type(size) is not int or size < 0 or not isinstance(digest, str) or not _SHA256_HEX.fullmatch(digest):
            raise BackupCorrupt(f"the backup's manifest gives no valid size and sha256 for {name!r}")
        declared[name] = (size, digest)
    size_bytes, sha = archive.get("size_bytes"), archive.get("sha256")
    if type(size_bytes) is not int or size_bytes < 0 or not isinstance(sha, str) or not _SHA256_HEX.fullmatch(sha):
        raise BackupCorrupt("the backup's manifest gives no valid archive size and sha256")
    return declared


def _check_member(member: tarfile.TarInfo, declared: dict[str, tuple[int, str]], seen: set[str],
                  dest_dir: Path) -> int:
    name = member.name
    # Plain regular files only: links, devices, directories, FIFOs, sparse and contiguous files are refused.
    if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
        raise BackupCorrupt(f"archive member {name!r} is not a regular file (links, devices and directories "
                            "are refused)")
    if name not in declared or name in seen:
        raise BackupCorrupt(f"archive member {name!r} is not a file its manifest lists")
    try:
        tarfile.data_filter(member, str(dest_dir))
    except tarfile.FilterError:
        raise BackupCorrupt(f"archive member {name!r} is refused by tarfile's data filter") from None
    size = declared[name][0]
    if member.size != size:
        raise BackupCorrupt(f"archive member {name!r} is not the size its manifest lists")
    return size


def extract(archive: io.BufferedIOBase, dest_dir: Path, manifest: dict[str, Any], pattern: re.Pattern[str],
            progress: Progress | None = None) -> None:
    """Extracts the files the manifest lists into dest_dir (an empty directory nothing else uses),
    checking each member before writing it (module doc) and each file's sha256 and the archive's
    sha256 and size after. Raises BackupCorrupt on any mismatch; the caller removes dest_dir then."""
    declared = declared_files(manifest, pattern)
    if dest_dir.is_symlink() or not dest_dir.is_dir() or any(dest_dir.iterdir()):
        raise ValueError(f"{dest_dir} must be a fresh, empty directory")
    reader = _HashingReader(archive)
    seen: set[str] = set()
    try:
        decompressor = zstandard.ZstdDecompressor(max_window_size=_MAX_WINDOW)
        # zstandard's stub asks for IO[bytes]; stream_reader calls only read().
        with decompressor.stream_reader(reader, read_size=CHUNK, read_across_frames=True,  # type: ignore[arg-type]
                                        closefd=False) as plain:
            capped = _Capped(plain, len(declared))
            with tarfile.open(fileobj=capped, mode="r|", bufsize=CHUNK) as tar:
                for member in tar:
                    size = _check_member(member, declared, seen, dest_dir)
                    seen.add(member.name)
                    src = tar.extractfile(member)
                    assert src is not None  # a regular file
                    digest = hashlib.sha256()
                    fd = os.open(dest_dir / member.name,
                                 os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
                    with os.fdopen(fd, "wb") as out:
                        left = size
                        while left and (chunk := src.read(min(CHUNK, left))):
                            digest.update(chunk)
                            out.write(chunk)
                            left -= len(chunk)
                            capped.extracted += len(chunk)
                            if progress:
                                progress(capped.extracted)
                    if left or digest.hexdigest() != declared[member.name][1]:
                        raise BackupCorrupt(f"archive member {member.name!r} differs from its manifest's sha256")
        reader.drain()
    except BackupCorrupt:
        raise
    except (tarfile.TarError, OSError, ValueError, EOFError, zstandard.ZstdError) as exc:
        raise BackupCorrupt(f"the archive is damaged ({type(exc).__name__})") from None
    expected = manifest["archive"]
    if reader.hash.hexdigest() != expected["sha256"] or reader.size != expected["size_bytes"]:
        raise BackupCorrupt("the archive changed while it was extracted: its sha256 no longer matches")
    if seen != set(declared):
        raise BackupCorrupt("the archive does not hold every file its manifest lists")
