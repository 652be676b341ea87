"""Node-side registration against moto, seen by the allocator and the instance monitor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lambdas.allocator.handler import handler as allocator
from lambdas.common.aws import get_aws
from lambdas.instance_monitor import service as monitor
from lambdas.volume_monitor import service as volume_monitor
from node_api.cluster.api_keys import SecretsManagerKeyProvider, key_provider_from_settings
from node_api.cluster.registration import NodeRegistration
from node_api.cluster.settings import ClusterSettings
from node_api.cluster.volume_usage import publish_volume_usage
from node_api.security.auth import StaticKeyProvider
from tests.support.waiting import until


@pytest.fixture
def node_settings(monkeypatch: pytest.MonkeyPatch) -> ClusterSettings:
    for name, value in {
        "ENVIRONMENT": "test",
        "INSTANCE_ID": "local-node-1",
        "WRITER_TIER": "standard",
        "NODE_ADVERTISE_HOST": "127.0.0.1",
        "KUZU_PORT": "8123",
        "KUZU_MAX_DATABASES_PER_NODE": "3",
        "NODE_HEARTBEAT_INTERVAL_SECONDS": "0.05",
    }.items():
        monkeypatch.setenv(name, value)
    return ClusterSettings()


def row(aws: Any) -> dict[str, Any] | None:
    return aws.registry.instances.get_item(Key={"instance_id": "local-node-1"}).get("Item")


async def test_node_registers_heartbeats_and_deregisters(aws, node_settings, lambda_context):
    held = {"n": 0}
    seen_during_ready: list[str] = []

    async def ready() -> None:
        seen_during_ready.append(row(aws)["status"])

    node = NodeRegistration(node_settings, lambda: held["n"], ready=ready)
    await node.start()
    try:
        assert seen_during_ready == ["initializing"]
        registered = row(aws)
        assert registered["status"] == "healthy" and registered["max_databases"] == 3
        assert registered["private_ip"] == "127.0.0.1" and registered["port"] == 8123
        assert registered["node_type"] == "writer" and registered["database_count"] == 0

        placed = allocator({"action": "allocate", "graph_id": "kg1", "entity_id": "e"}, lambda_context)
        assert placed["route"]["endpoint"] == "http://127.0.0.1:8123"
        held["n"] = 1
        first_beat = registered["last_heartbeat"]

        def beat_with_the_graph() -> dict[str, Any] | None:
            current = row(aws)
            moved = current["last_heartbeat"] != first_beat and current.get("reported_database_count") == 1
            return current if moved else None

        beat = await until(beat_with_the_graph, what="a heartbeat reporting the graph")
        assert beat["last_heartbeat"] > first_beat and beat["reported_database_count"] == 1
        assert beat["database_count"] == 1  # the allocator's counter, untouched by heartbeats
        assert monitor.run(aws, health_check=None).unhealthy == []
    finally:
        await node.stop()
    assert row(aws)["status"] == "stopped"  # still holds kg1: stays registered, not allocatable

    allocator({"action": "release", "graph_id": "kg1"}, lambda_context)
    await NodeRegistration(node_settings, lambda: 0).stop()
    assert row(aws) is None


async def test_restart_keeps_the_allocators_counter(aws, node_settings, lambda_context):
    node = NodeRegistration(node_settings, lambda: 0)
    await node.start()
    allocator({"action": "allocate", "graph_id": "kg1", "entity_id": "e"}, lambda_context)
    await node.stop()
    again = NodeRegistration(node_settings, lambda: 1)
    await again.start()
    try:
        assert row(aws)["database_count"] == 1 and row(aws)["status"] == "healthy"
    finally:
        await again.stop()


async def test_heartbeat_re_registers_a_node_the_monitor_removed(aws, node_settings):
    node = NodeRegistration(node_settings, lambda: 0)
    await node.start()
    try:
        aws.registry.instances.delete_item(Key={"instance_id": "local-node-1"})
        await node.heartbeat()
        assert row(aws)["status"] == "healthy"
    finally:
        await node.stop()


def test_key_provider_choice(monkeypatch: pytest.MonkeyPatch, aws):
    monkeypatch.setenv("GRAPH_API_KEY", "dev-key")
    local = key_provider_from_settings(ClusterSettings())
    assert isinstance(local, StaticKeyProvider) and local.valid_keys() == ("dev-key",)
    monkeypatch.setenv("GRAPH_API_KEY_SECRET_ID", "some/secret")
    remote = key_provider_from_settings(ClusterSettings(), client=aws.client("secretsmanager"))
    assert isinstance(remote, SecretsManagerKeyProvider)


def test_node_usage_metric_drives_the_volume_monitor(aws, volume, node_settings, tmp_path: Path, reconfigure):
    vid = volume(10, database_id="kg1", instance_id=None, device=None)
    percent = publish_volume_usage(
        aws.client("cloudwatch"), node_settings.metric_namespace_name, vid, tmp_path
    )
    # Whatever this disk's usage is, a threshold just below it must trigger an expansion.
    reconfigure(VOLUME_EXPAND_THRESHOLD_PERCENT=str(max(percent - 0.01, 0.01)))
    [check] = volume_monitor.check_volumes(get_aws())
    assert check.usage_percent == percent and check.action == "expanded"
