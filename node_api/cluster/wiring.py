"""Joins the node to the cluster when configured: API keys from Secrets Manager, and registration
with heartbeats in the instance registry (CLUSTER_REGISTRATION_ENABLED=true)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import structlog
from fastapi import FastAPI

from node_api.cluster.api_keys import key_provider_from_settings
from node_api.cluster.settings import ClusterSettings
from node_api.security.auth import ApiKeyProvider, StaticKeyProvider
from node_api.settings import NodeSettings
from node_api.state import NodeState

log = structlog.get_logger(__name__)


def select_key_provider(settings: NodeSettings) -> ApiKeyProvider:
    cluster = ClusterSettings()
    if cluster.api_key_secret_id:
        return key_provider_from_settings(cluster)
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


def cluster_settings_for(settings: NodeSettings) -> ClusterSettings:
    """The node's own settings (CLI included) win for what both describe: one truth for the registry."""
    return ClusterSettings().model_copy(update={
        "port": settings.port, "instance_id": settings.instance_id, "node_type": settings.node_type,
        "tier": settings.tier, "max_databases": settings.max_databases, "environment": settings.environment,
    })


@asynccontextmanager
async def cluster_membership(_app: FastAPI, node: NodeState) -> AsyncIterator[None]:
    cluster = cluster_settings_for(node.settings)
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
    node.services["registration"] = registration
    try:
        yield
    finally:
        await registration.stop()
