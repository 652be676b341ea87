"""Signed backup manifests: HMAC-SHA256 (RFC 2104) with the cluster's key, so a restore trusts only
backups that this cluster, or one it was told to trust, wrote.

Key set (a Secrets Manager secret string, or a key file; the CDK stack creates the secret):

    {"current": "<key>", "previous": ["<older key>", ...]}

A bare string is read as {"current": it, "previous": []}. Keys are strings of at least 32
characters, used as UTF-8 bytes. Backups are signed with `current`; a signature by `current` or any
`previous` key verifies. From Secrets Manager the node also reads the AWSPREVIOUS version (as it does
for API keys, node_api/cluster/api_keys.py), so both ways of rotating keep older backups restorable:
putting a new secret version, or editing the JSON (`python -m node_api.core.backup.signing rotate`).

The signature is a member of the manifest (the sidecar JSON):

    "signature": {"algorithm": "HMAC-SHA256", "key_id": "<16 hex>", "value": "<64 hex>"}

over the canonical JSON of the manifest without it (sorted keys, no whitespace, ASCII). The manifest
holds every file's name, size and sha256 and the archive's sha256, so the signature covers every
byte a restore extracts. key_id is the first 16 hex digits of sha256("graph-backup-key:" + key): it
names a key (which one signed, which one is missing) without revealing it.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from node_api.core.backup.errors import BackupSigningUnavailable, BackupUntrusted

ALGORITHM = "HMAC-SHA256"
SIGNATURE_FIELD = "signature"
MIN_KEY_LENGTH = 32
DEV_KEY_FILE = ".backup-signing-key.json"  # under the node's base path, in development only
_MISS_REFRESH_S = 5.0  # an unknown key id re-reads the key set at most this often


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"graph-backup-key:" + key).hexdigest()[:16]


def generate_key() -> str:
    return secrets.token_urlsafe(48)  # 64 characters, 384 bits


def parse_key_set(text: str) -> tuple[str, list[str]]:
    """(current, previous) of a key set's text; ValueError if it is not one."""
    stripped = text.strip()
    if stripped.startswith("{"):
        value = json.loads(stripped)
        current, previous = value.get("current"), value.get("previous", [])
    else:
        current, previous = stripped, []
    if not isinstance(previous, list) or not all(isinstance(k, str) for k in [current, *previous]):
        raise ValueError('a backup signing key set is {"current": "<key>", "previous": ["<key>", ...]}')
    for key in (current, *previous):
        if len(key) < MIN_KEY_LENGTH:
            raise ValueError(f"backup signing keys are at least {MIN_KEY_LENGTH} characters")
    return current, previous


def encode_key_set(current: str, previous: list[str]) -> str:
    return json.dumps({"current": current, "previous": previous})


def rotated(text: str, keep_previous: int | None = None) -> str:
    """A key set with a new current key; the old current becomes the newest previous key (of at
    most keep_previous, when given: backups signed by a dropped key are no longer restorable)."""
    current, previous = parse_key_set(text)
    kept = [current, *previous]
    return encode_key_set(generate_key(), kept if keep_previous is None else kept[:keep_previous])


@dataclass(frozen=True)
class KeySet:
    current: bytes
    verify: dict[str, bytes]  # key_id -> key: current and previous

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    @classmethod
    def of(cls, texts: list[str]) -> KeySet:
        """From one or more key set texts; the first one's current key signs."""
        keys: list[str] = []
        for text in texts:
            current, previous = parse_key_set(text)
            keys += [current, *previous]
        encoded = [k.encode() for k in keys]
        return cls(encoded[0], {key_id(k): k for k in encoded})


def canonical(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k != SIGNATURE_FIELD}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def _mac(key: bytes, manifest: dict[str, Any]) -> str:
    return hmac.new(key, canonical(manifest), hashlib.sha256).hexdigest()


class KeySource(Protocol):
    def load(self) -> KeySet:
        """Reads the key set (blocking). Raises BackupSigningUnavailable."""


class FileKeySource:
    """A key set in a local file (development, or a node without Secrets Manager). `create`: write a
    new key set (mode 0600) on first use when the file does not exist."""

    def __init__(self, path: Path, *, create: bool) -> None:
        self.path = path
        self.create = create

    def load(self) -> KeySet:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            if not self.create:
                raise BackupSigningUnavailable(
                    "the backup signing key file does not exist (GRAPH_API_BACKUP_SIGNING_KEY_FILE)") from None
            text = self._create()
        except OSError as exc:
            raise BackupSigningUnavailable(f"the backup signing key file cannot be read ({exc.strerror})") from None
        try:
            return KeySet.of([text])
        except ValueError as exc:
            raise BackupSigningUnavailable(f"the backup signing key file is not a key set: {exc}") from None

    def _create(self) -> str:
        """Atomically: several nodes sharing one file (a local cluster) end up with the same key."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = encode_key_set(generate_key(), [])
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(text)
            try:
                os.link(tmp, self.path)  # fails if another process created it first
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
        return self.path.read_text()


class SecretsManagerKeySource:
    """The cluster's key set: AWSCURRENT, plus the keys of AWSPREVIOUS (verification only)."""

    def __init__(self, secret_id: str, client: Any) -> None:
        self.secret_id = secret_id
        self.client = client

    def load(self) -> KeySet:
        try:
            texts = [self._read("AWSCURRENT")]
            try:
                texts.append(self._read("AWSPREVIOUS"))
            except self.client.exceptions.ResourceNotFoundException:
                pass  # never rotated by version
            return KeySet.of(texts)
        except ValueError as exc:
            raise BackupSigningUnavailable(f"the backup signing secret is not a key set: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - botocore's errors: the node's message, not theirs
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
            raise BackupSigningUnavailable(f"the backup signing secret cannot be read ({code})") from None

    def _read(self, stage: str) -> str:
        return str(self.client.get_secret_value(SecretId=self.secret_id, VersionStage=stage)["SecretString"])


class Unconfigured:
    """A node outside development with no key configured: it neither signs nor restores."""

    def load(self) -> KeySet:
        raise BackupSigningUnavailable(
            "backups are signed, and this node has no signing key: set GRAPH_API_BACKUP_SIGNING_SECRET_ID "
            "(or GRAPH_API_BACKUP_SIGNING_KEY_FILE)")


class Signer:
    """Signs and verifies manifests with a key source's keys, cached for refresh_s (a rotation needs
    no restart). Thread-safe; load() blocks (call it off the event loop)."""

    def __init__(self, source: KeySource, *, refresh_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self._refresh_s = refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._loaded_at = 0.0

    def keys(self, *, force: bool = False) -> KeySet:
        with self._lock:
            now = self._clock()
            stale = self._keys is None or now - self._loaded_at >= self._refresh_s
            if stale or (force and now - self._loaded_at >= _MISS_REFRESH_S):
                try:
                    self._keys = self.source.load()
                except BackupSigningUnavailable:
                    if self._keys is None:
                        raise
                    # Keep serving with the keys we have; the next refresh retries.
                self._loaded_at = now
            assert self._keys is not None
            return self._keys

    def sign(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """The manifest with its signature (any previous signature replaced)."""
        keys = self.keys()
        body = {k: v for k, v in manifest.items() if k != SIGNATURE_FIELD}
        body[SIGNATURE_FIELD] = {"algorithm": ALGORITHM, "key_id": keys.current_id, "value": _mac(keys.current, body)}
        return body

    def verify(self, manifest: dict[str, Any]) -> str:
        """The key id that signed the manifest. Raises BackupUntrusted (unsigned, unknown key, wrong
        signature) or BackupSigningUnavailable."""
        signature = manifest.get(SIGNATURE_FIELD)
        if not isinstance(signature, dict):
            raise BackupUntrusted("this backup is not signed: it was not written by a node of this cluster, or "
                                  "its manifest was altered. Refusing to restore it.")
        kid, value = signature.get("key_id"), signature.get("value")
        if signature.get("algorithm") != ALGORITHM or not isinstance(kid, str) or not isinstance(value, str):
            raise BackupUntrusted(f"this backup's signature is not {ALGORITHM}: refusing to restore it")
        keys = self.keys()
        if kid not in keys.verify:
            keys = self.keys(force=True)  # rotated meanwhile?
        key = keys.verify.get(kid)
        if key is None:
            raise BackupUntrusted("this backup was signed with a key this cluster does not hold: refusing to "
                                  "restore it (docs/operations.md: how a backup moves between clusters)",
                                  key_id=kid)
        try:
            expected = _mac(key, manifest)
        except (TypeError, ValueError):
            raise BackupUntrusted("this backup's manifest cannot be verified: refusing to restore it") from None
        if not hmac.compare_digest(expected, value):
            raise BackupUntrusted("this backup's signature does not match its manifest: it was altered. Refusing "
                                  "to restore it.", key_id=kid)
        return kid


def _secrets_client(endpoint_url: str | None, region: str) -> Any:
    import boto3

    return boto3.client("secretsmanager", endpoint_url=endpoint_url, region_name=region)


def key_source(*, secret_id: str | None, key_file: Path | None, base_path: Path, development: bool,
               endpoint_url: str | None = None, region: str = "us-east-1") -> KeySource:
    """Secrets Manager if a secret id is set, else the key file; with neither, a development node
    keeps its own key file under base_path and any other node has no key."""
    if secret_id:
        return SecretsManagerKeySource(secret_id, _secrets_client(endpoint_url, region))
    if key_file is not None:
        return FileKeySource(key_file, create=development)
    if development:
        return FileKeySource(base_path / DEV_KEY_FILE, create=True)
    return Unconfigured()


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m node_api.core.backup.signing",
        description="Rotate the backup signing key set: a new current key; the old one verifies only.")
    parser.add_argument("command", choices=["rotate"])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--secret-id", help="the Secrets Manager secret (GRAPH_API_BACKUP_SIGNING_SECRET_ID)")
    where.add_argument("--key-file", type=Path, help="a key file (GRAPH_API_BACKUP_SIGNING_KEY_FILE)")
    parser.add_argument("--keep-previous", type=int, default=None,
                        help="previous keys to keep (default: all); backups signed by dropped keys stop restoring")
    args = parser.parse_args(argv)
    if args.key_file is not None:
        text = rotated(args.key_file.read_text(), args.keep_previous)
        tmp = args.key_file.with_name(f".{args.key_file.name}.rotating")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(tmp, args.key_file)
    else:
        client = _secrets_client(os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
        current = client.get_secret_value(SecretId=args.secret_id, VersionStage="AWSCURRENT")["SecretString"]
        text = rotated(current, args.keep_previous)
        client.put_secret_value(SecretId=args.secret_id, SecretString=text)
    current_key, previous = parse_key_set(text)
    print(json.dumps({"current_key_id": key_id(current_key.encode()),
                      "previous_key_ids": [key_id(k.encode()) for k in previous]}))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
