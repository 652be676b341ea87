"""Signed backups: only this cluster's keys are trusted, rotation keeps older backups restorable, a
backup moves to another cluster only once that cluster trusts the key, and a node without a key
neither signs nor restores."""

from __future__ import annotations

import json
import shutil
import stat
import uuid
from pathlib import Path

import boto3
import httpx
import pytest

from node_api.core.backup.signing import FileKeySource, Signer, _main, encode_key_set, generate_key, key_id
from tests.node_api.core.backup.backup_helpers import (
    edit_manifest,
    read_manifest,
    restore_outcome,
    signer,
    write_manifest,
)
from tests.node_api.core.helpers import backup, create_graph, dump, node_settings, populate, running_node
from tests.support.aws import REGION


def _key_file(path: Path) -> tuple[int, dict]:
    return stat.S_IMODE(path.stat().st_mode), json.loads(path.read_text())


def _copy_backup(location: str, base_path: Path, graph_id: str) -> str:
    """An archive and its manifest copied into another node's backup root; returns its location there."""
    source = Path(location)
    root = base_path.resolve() / ".backups" / graph_id
    root.mkdir(parents=True)
    for path in (source, source.with_name(source.name.replace(".tar.zst", ".json"))):
        shutil.copy(path, root / path.name)
    return str(root / source.name)


def _rotate(**where: str) -> dict:
    args = ["rotate", *(x for k, v in where.items() for x in (f"--{k.replace('_', '-')}", v))]
    return json.loads(_capture(lambda: _main(args)))


def _capture(run) -> str:  # noqa: ANN001
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert run() == 0
    return out.getvalue()


async def test_dev_key_file_is_created_private_and_signs(client: httpx.AsyncClient, base_path: Path) -> None:
    await create_graph(client, "g")
    result = await backup(client, "g")
    mode, key_set = _key_file(base_path / ".backup-signing-key.json")
    assert mode == 0o600
    assert result["key_id"] == key_id(key_set["current"].encode())
    signature = read_manifest(Path(result["location"]))["signature"]
    assert signature["algorithm"] == "HMAC-SHA256" and len(signature["value"]) == 64


async def test_resigned_with_another_key_is_refused(client: httpx.AsyncClient, tmp_path: Path) -> None:
    await create_graph(client, "g")
    await populate(client, "g", 10)
    result = await backup(client, "g")
    before = await dump(client, "g")
    stranger = Signer(FileKeySource(tmp_path / "stranger-key.json", create=True))
    archive = Path(result["location"])
    edit_manifest(archive, stranger, node_count=999)
    response = await client.post("/databases/g/restore", json={"location": result["location"]})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "backup_untrusted" and error["details"]["key_id"] == stranger.keys().current_id
    # The untouched manifest signed by another key: refused the same (trust is the key, not the content).
    manifest = read_manifest(archive)
    manifest["node_count"] = result["node_count"]
    write_manifest(archive, manifest, stranger)
    assert await restore_outcome(client, "g", result["location"]) == (422, "backup_untrusted")
    # A signature copied from the genuine manifest onto an altered one does not verify either.
    write_manifest(archive, manifest, signer(client))
    genuine = read_manifest(archive)
    write_manifest(archive, {**genuine, "rel_count": 12345}, None)
    assert await restore_outcome(client, "g", result["location"]) == (422, "backup_untrusted")
    write_manifest(archive, genuine, None)
    assert await restore_outcome(client, "g", result["location"]) == (202, None)
    assert await dump(client, "g") == before


async def test_key_file_rotation_keeps_older_backups_restorable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "signing.json"
    monkeypatch.setenv("GRAPH_API_BACKUP_SIGNING_KEY_FILE", str(key_file))
    monkeypatch.setenv("GRAPH_API_BACKUP_SIGNING_REFRESH_SECONDS", "0.001")  # every call re-reads the file
    async with running_node(node_settings(tmp_path / "dbs")) as client:
        await create_graph(client, "g")
        await populate(client, "g", 10)
        first = await backup(client, "g")
        rotated = _rotate(key_file=str(key_file))
        assert rotated["previous_key_ids"] == [first["key_id"]]
        assert _key_file(key_file)[0] == 0o600
        second = await backup(client, "g")
        assert second["key_id"] == rotated["current_key_id"] != first["key_id"]
        for n, result in enumerate((first, second)):
            assert await restore_outcome(client, "g", result["location"], target=f"copy{n}") == (202, None)
        listed = (await client.get("/databases/g/backups")).json()["backups"]
        assert [b["trusted"] for b in listed] == [True, True]
        # Dropping the oldest key retires the backups it signed, and only those.
        _rotate(key_file=str(key_file), keep_previous="1")
        assert await restore_outcome(client, "g", first["location"]) == (422, "backup_untrusted")
        assert await restore_outcome(client, "g", second["location"]) == (202, None)


def secretsmanager_client(endpoint: str):  # noqa: ANN201 - botocore client
    return boto3.client("secretsmanager", endpoint_url=endpoint, region_name=REGION)


def _secret(aws_endpoint: str, value: str) -> str:
    client = secretsmanager_client(aws_endpoint)
    return client.create_secret(Name=f"backup-signing-{uuid.uuid4().hex[:8]}", SecretString=value)["ARN"]


async def test_secrets_manager_keys_rotation_and_moving_between_clusters(
    aws_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sm = secretsmanager_client(aws_endpoint)
    key_a, key_b = generate_key(), generate_key()
    secret_a = _secret(aws_endpoint, encode_key_set(key_a, []))
    secret_b = _secret(aws_endpoint, encode_key_set(key_b, []))
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    monkeypatch.setenv("GRAPH_API_BACKUP_SIGNING_REFRESH_SECONDS", "0.001")

    monkeypatch.setenv("GRAPH_API_BACKUP_SIGNING_SECRET_ID", secret_a)
    async with running_node(node_settings(tmp_path / "a", environment="prod")) as a:
        await create_graph(a, "moving")
        await populate(a, "moving", 25)
        old = await backup(a, "moving")
        assert old["key_id"] == key_id(key_a.encode())
        # Rotation by a new secret version (bare key): AWSPREVIOUS still verifies the old backup.
        sm.put_secret_value(SecretId=secret_a, SecretString=generate_key())
        new = await backup(a, "moving")
        assert new["key_id"] != old["key_id"]
        for n, result in enumerate((old, new)):
            assert await restore_outcome(a, "moving", result["location"], target=f"r{n}") == (202, None)
        expected = await dump(a, "moving")

    # Cluster B: the archive and its manifest copied into its backup root, under the same graph.
    location_b = _copy_backup(old["location"], tmp_path / "b", "moving")
    monkeypatch.setenv("GRAPH_API_BACKUP_SIGNING_SECRET_ID", secret_b)
    async with running_node(node_settings(tmp_path / "b", environment="prod")) as b:
        assert await restore_outcome(b, "moving", location_b) == (422, "backup_untrusted")
        # B trusts A's key for verification only (docs/operations.md), then restores; it still signs with its own.
        sm.put_secret_value(SecretId=secret_b, SecretString=encode_key_set(key_b, [key_a]))
        assert await restore_outcome(b, "moving", location_b) == (202, None)
        assert await dump(b, "moving") == expected
        assert (await backup(b, "moving"))["key_id"] == key_id(key_b.encode())


async def test_a_node_without_a_key_neither_signs_nor_restores(
    client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_graph(client, "g")
    location = (await backup(client, "g"))["location"]
    # Production settings without GRAPH_API_BACKUP_SIGNING_SECRET_ID: refused at once, nothing queued.
    monkeypatch.delenv("GRAPH_API_BACKUP_SIGNING_SECRET_ID", raising=False)
    monkeypatch.delenv("GRAPH_API_BACKUP_SIGNING_KEY_FILE", raising=False)
    base = tmp_path / "prod"
    async with running_node(node_settings(base, environment="prod")) as prod:
        await create_graph(prod, "g")
        response = await prod.post("/databases/g/backup")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "backup_signing_unavailable"
        assert "GRAPH_API_BACKUP_SIGNING_SECRET_ID" in response.json()["error"]["message"]
        copied = _copy_backup(location, base, "g")
        assert await restore_outcome(prod, "g", copied) == (503, "backup_signing_unavailable")
        assert (await prod.get("/tasks", params={"graph_id": "g"})).json()["total"] == 0


def _other_id(backup_id: str, n: int) -> str:
    return f"{backup_id.rsplit('-', 1)[0]}-{'e' * 7}{n}"


async def test_foreign_manifests_do_not_break_the_listing(client: httpx.AsyncClient) -> None:
    await create_graph(client, "g")
    result = await backup(client, "g")
    archive = Path(result["location"])
    manifest = read_manifest(archive)
    for n, junk in enumerate(({"archive": {}}, {"archive": {"sha256": "x", "size_bytes": 1, "raw_bytes": "many"}},
                              {"location": "/etc/passwd", "trusted": True})):
        copy_id = _other_id(result["backup_id"], n)
        other = archive.with_name(f"{copy_id}.tar.zst")
        write_manifest(other, {**manifest, "backup_id": copy_id, **junk}, None)
    listed = (await client.get("/databases/g/backups")).json()["backups"]
    by_id = {b["backup_id"]: b for b in listed}
    assert set(by_id) == {result["backup_id"], _other_id(result["backup_id"], 2)}
    forged = by_id[_other_id(result["backup_id"], 2)]
    assert forged["trusted"] is False and forged["location"].endswith(f"{forged['backup_id']}.tar.zst")
