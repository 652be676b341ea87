"""Helpers of the backup suites: the node's signer, manifests edited (and re-signed, or not), crafted
archives, restore attempts answered either at once (4xx) or by the task, and the files of a tree."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import zstandard

from node_api.core.backup.signing import Signer
from tests.node_api.core.helpers import wait_task


def signer(client: httpx.AsyncClient) -> Signer:
    return client.app.state.node.backups.signer  # type: ignore[attr-defined]


def sidecar_path(archive: Path) -> Path:
    return archive.with_name(archive.name.replace(".tar.zst", ".json"))


def read_manifest(archive: Path) -> dict[str, Any]:
    return json.loads(sidecar_path(archive).read_text())


def write_manifest(archive: Path, manifest: dict[str, Any], sign_with: Signer | None) -> None:
    """Stores the manifest beside the archive: re-signed by sign_with, or left as it is (None)."""
    if sign_with is not None:
        manifest = sign_with.sign(manifest)
    sidecar_path(archive).write_text(json.dumps(manifest))


def edit_manifest(archive: Path, sign_with: Signer | None, **changes: Any) -> None:
    manifest = read_manifest(archive)
    for key, value in changes.items():
        if key == "sha256":
            manifest["archive"]["sha256"] = value
        else:
            manifest[key] = value
    write_manifest(archive, manifest, sign_with)


Member = tuple[tarfile.TarInfo, bytes | None]


def regular(name: str, data: bytes, **pax: str) -> Member:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.pax_headers = dict(pax)
    return info, data


def special(name: str, kind: bytes, linkname: str = "") -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None


def craft_archive(path: Path, members: Iterable[Member], *, trailer: bytes = b"") -> tuple[str, int]:
    """Writes a zstd-compressed tar of exactly these members (no checks: an attacker's archive),
    then `trailer` inside the same zstd stream; returns (sha256, size) of the compressed file."""
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    compressed = zstandard.ZstdCompressor(level=1).compress(plain.getvalue() + trailer)
    path.write_bytes(compressed)
    return hashlib.sha256(compressed).hexdigest(), len(compressed)


def replace_backup(archive: Path, members: Iterable[Member], files: list[dict[str, Any]],
                   sign_with: Signer | None, trailer: bytes = b"") -> None:
    """Replaces a real backup's archive and manifest with crafted ones (the attack of issue 14: both
    written by whoever can write the backup root or bucket)."""
    manifest = read_manifest(archive)
    sha, size = craft_archive(archive, members, trailer=trailer)
    manifest["files"] = files
    manifest["archive"].update(sha256=sha, size_bytes=size, raw_bytes=sum(f["size"] for f in files))
    write_manifest(archive, manifest, sign_with)


def file_entry(name: str, data: bytes) -> dict[str, Any]:
    return {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


async def restore_outcome(client: httpx.AsyncClient, graph_id: str, location: str,
                          target: str | None = None) -> tuple[int, str | None]:
    """(HTTP status, error code): the refusal at once, or (202, the task's error code or None)."""
    body: dict[str, Any] = {"location": location}
    if target:
        body["target_graph_id"] = target
    response = await client.post(f"/databases/{graph_id}/restore", json=body)
    if response.status_code != 202:
        return response.status_code, response.json()["error"]["code"]
    task = await wait_task(client, response)
    return 202, (task["error"] or {}).get("code") if task["status"] == "failed" else None


def tree(root: Path, ignore: Callable[[Path], bool] = lambda p: False) -> set[Path]:
    """Every path under root (files, links, directories), links not followed."""
    found: set[Path] = set()
    for directory, dirs, files in os.walk(root, followlinks=False):
        for name in (*dirs, *files):
            path = Path(directory) / name
            if not ignore(path):
                found.add(path)
    return found
