"""Joins the node to the cluster when configured: API keys from Secrets Manager, and registration
with heartbeats in the instance registry (CLUSTER_REGISTRATION_ENABLED=true)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import structlog

from node_api.cluster.api_keys import key_provider_from_settings
from node_api.cluster.settings import ClusterSettings
from node_api.security.auth import ApiKeyProvider, StaticKeyProvider
from node_api.settings import NodeSettings
from node_api.state import NodeState

log = structlog.get_logger(__name__)


def select_key_provider(settings: NodeSettings) -> ApiKeyProvider:
    """Secrets Manager keys when GRAPH_API_KEY_SECRET_ID is set, else the static GRAPH_API_KEY."""
    if settings.cluster.api_key_secret_id:
        return key_provider_from_settings(settings.cluster)
    return StaticKeyProvider(settings.api_key.get_secret_value())


async def _refresh_keys(node: NodeState, interval_s: float) -> None:
    # Refreshing ahead of the cache's TTL keeps the blocking Secrets Manager call off the request path.
    refresh = getattr(node.key_provider, "refresh", None)
    if refresh is None:
        return
    while True:
        await asyncio.sleep(interval_s)
        try:
            await asyncio.to_thread(refresh)
        except Exception as exc:  # noqa: BLE001 - the cached keys stay valid; retried next interval
            log.warning("api key refresh failed", error=str(exc))


@asynccontextmanager
async def cluster_membership(node: NodeState) -> AsyncIterator[None]:
    """While the node runs: its API keys refreshed ahead of expiry, and, with
    CLUSTER_REGISTRATION_ENABLED, its registration and heartbeats in the instance registry."""
    cluster = node.settings.cluster
    refresher = asyncio.create_task(_refresh_keys(node, cluster.key_refresh_s / 2), name="api-key-refresh")
    try:
        if not cluster.registration_enabled:
            yield
        else:
            async with _registered(node, cluster):
                yield
    finally:
        refresher.cancel()
        with suppress(asyncio.CancelledError):
            await refresher


@asynccontextmanager
async def _registered(node: NodeState, cluster: ClusterSettings) -> AsyncIterator[None]:
    from node_api.cluster.registration import NodeRegistration

    loop = asyncio.get_running_loop()

    def database_count() -> int:  # called from the heartbeat's worker thread
        return asyncio.run_coroutine_threadsafe(node.backend.database_count(), loop).result(10)

    def fenced() -> None:  # SIGTERM: uvicorn stops accepting requests and shuts the app down cleanly
        os.kill(os.getpid(), signal.SIGTERM)

    registration = NodeRegistration(cluster, database_count, on_fenced=fenced)
    await registration.start()
    node.registration = registration
    try:
        yield
    finally:
        node.registration = None
        await registration.stop()
