"""API keys the node accepts: AWSCURRENT and (within the rotation window) AWSPREVIOUS from Secrets
Manager, cached for a TTL and re-read on the first call after it expires, so a rotation needs no restart.

The auth middleware should call `is_valid(key)` (in a worker thread: a refresh is a blocking boto3
call): a key it does not know triggers one early refresh (rate-limited), so a client that fetched the
brand-new key before this node refreshed still gets in. `valid_keys()` alone cannot do that.
If Secrets Manager is unreachable the last known keys stay in force (logged) rather than failing requests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from contracts.api_keys import decode_secret
from node_api.cluster.settings import ClusterSettings
from node_api.security.auth import ApiKeyProvider, StaticKeyProvider, key_matches

log = structlog.get_logger(__name__)


class SecretsManagerKeyProvider:
    def __init__(
        self,
        secret_id: str,
        client: Any,
        *,
        refresh_s: float = 300.0,
        rotation_window_s: float = 86400.0,
        miss_refresh_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret_id = secret_id
        self._client = client
        self._refresh_s = refresh_s
        self._window_s = rotation_window_s
        self._miss_refresh_s = miss_refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: tuple[str, ...] = ()
        self._fetched_at: float | None = None

    def valid_keys(self) -> tuple[str, ...]:
        """Current key first, then the previous one while the rotation window is open."""
        with self._lock:
            if self._fetched_at is None or self._clock() - self._fetched_at >= self._refresh_s:
                self._refresh_locked()
            return self._keys

    def is_valid(self, key: str) -> bool:
        if not key:
            return False
        if key_matches(key, self.valid_keys()):
            return True
        with self._lock:
            if self._fetched_at is not None and self._clock() - self._fetched_at < self._miss_refresh_s:
                return False
            self._refresh_locked()
            return key_matches(key, self._keys)

    def refresh(self) -> tuple[str, ...]:
        with self._lock:
            self._refresh_locked()
            return self._keys

    def _refresh_locked(self) -> None:
        try:
            self._keys = self._fetch()
        except Exception as exc:  # keep serving with the keys we have; the next refresh retries
            if not self._keys:
                raise
            log.warning(
                "api key refresh failed, keeping cached keys", secret_id=self._secret_id, error=str(exc)
            )
        self._fetched_at = self._clock()

    def _fetch(self) -> tuple[str, ...]:
        current = self._client.get_secret_value(SecretId=self._secret_id, VersionStage="AWSCURRENT")
        keys = [decode_secret(current["SecretString"])]
        # The current version was created when the rotation began: the window is measured from it.
        age = self._clock() - _timestamp(current.get("CreatedDate"))
        if age < self._window_s:
            try:
                previous = self._client.get_secret_value(SecretId=self._secret_id, VersionStage="AWSPREVIOUS")
                keys.append(decode_secret(previous["SecretString"]))
            except self._client.exceptions.ResourceNotFoundException:
                pass  # never rotated
        return tuple(dict.fromkeys(keys))


def _timestamp(value: datetime | float | None) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value or 0.0)


def key_provider_from_settings(settings: ClusterSettings, client: Any | None = None) -> ApiKeyProvider:
    """Secrets Manager when GRAPH_API_KEY_SECRET_ID is set, otherwise the static GRAPH_API_KEY."""
    if not settings.api_key_secret_id:
        return StaticKeyProvider(settings.static_api_key.get_secret_value())
    if client is None:
        import boto3

        client = boto3.client(
            "secretsmanager", region_name=settings.region, endpoint_url=settings.aws_endpoint_url
        )
    return SecretsManagerKeyProvider(
        settings.api_key_secret_id,
        client,
        refresh_s=settings.key_refresh_s,
        rotation_window_s=settings.key_rotation_window_s,
        miss_refresh_s=settings.key_miss_refresh_s,
    )
