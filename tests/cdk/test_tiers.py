"""The tier matrix in cdk/config/tiers.yml: the spec's production and staging tables, and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdk.tiers import NodeType, TierConfigError, load_tiers

GB = 1024

# Spec "Infrastructure Configuration": (instance type, DBs/instance, memory/DB MB, min, max).
PRODUCTION = {
    "standard": ("r7g.xlarge", 10, 2 * GB, 1, 10),  # Multi-Tenant
    "enterprise": ("r7g.large", 1, 14 * GB, 0, 5),  # Dedicated
    "premium": ("r7g.xlarge", 1, 28 * GB, 0, 3),  # High-Performance
    "shared": ("r7g.large", None, None, 1, 1),  # Shared Repositories
}
STAGING = {
    "standard": ("r7g.medium", 10, 700, 1, 5),
    "shared": ("r7g.medium", None, None, 1, 1),
}


def _matrix(env: str) -> dict[str, tuple]:
    return {
        t.name: (
            t.instance_type,
            t.databases_per_instance,
            t.memory_per_db_mb,
            t.min_capacity,
            t.max_capacity,
        )
        for t in load_tiers(env)
    }


@pytest.mark.parametrize(("env", "expected"), [("prod", PRODUCTION), ("staging", STAGING)])
def test_defaults_are_the_spec_tables(env: str, expected: dict) -> None:
    assert _matrix(env) == expected


@pytest.mark.parametrize("env", ["prod", "staging", "dev"])
def test_one_shared_master_and_memory_fits(env: str) -> None:
    tiers = load_tiers(env)
    assert [t.name for t in tiers if t.node_type is NodeType.SHARED_MASTER] == ["shared"]
    for tier in tiers:
        if tier.databases_per_instance:
            assert tier.databases_per_instance * tier.memory_per_db_mb <= tier.max_memory_mb


def test_node_environment_uses_node_api_setting_names() -> None:
    standard, *_, shared = load_tiers("prod")
    assert standard.node_environment() == {
        "GRAPH_BACKEND_TYPE": "ladybug",  # the default engine of new nodes (README, "Engines")
        "KUZU_NODE_TYPE": "writer",
        "WRITER_TIER": "standard",
        "KUZU_MAX_MEMORY_MB": str(10 * 2 * GB),
        "KUZU_MAX_DATABASES_PER_NODE": "10",
        "KUZU_MEMORY_PER_DB_MB": str(2 * GB),
    }
    assert shared.node_environment()["KUZU_NODE_TYPE"] == "shared_master"
    assert "KUZU_MAX_DATABASES_PER_NODE" not in shared.node_environment()
    assert (standard.component, shared.component) == ("kuzu-writer-standard", "kuzu-shared-master")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "x:\n  a: {node_type: writer, instance_type: r7g.large, min: 0, max: 1, volume_size_gb: 1}",
            "needs",
        ),
        (
            "x:\n  a: {node_type: writer, instance_type: r7g.large, databases_per_instance: 2,"
            " memory_per_db_mb: 10, max_memory_mb: 5, min: 0, max: 1, volume_size_gb: 1}",
            "exceeds",
        ),
        (
            "x:\n  a: {node_type: writer, instance_type: r7g.large, databases_per_instance: 1,"
            " memory_per_db_mb: 10, min: 3, max: 1, volume_size_gb: 1}",
            "min <= max",
        ),
        ("y: {}", "no tiers"),
        (
            "x:\n  a: {node_type: writer, instance_type: r7g.large, databases_per_instance: 1,"
            " memory_per_db_mb: 10, min: 0, max: 1, volume_size_gb: 1, engine: neo4j}",
            "engine must be one of",
        ),
        (
            "x:\n  a: {node_type: writer, instance_type: r7g.large, databases_per_instance: 1,"
            " memory_per_db_mb: 10, min: 0, max: 1, volume_size_gb: 1, engine: kuzu,"
            " ladybug_extensions_s3_url: 's3://b/ext/'}",
            "of a ladybug tier",
        ),
    ],
)
def test_invalid_config_is_rejected(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "tiers.yml"
    path.write_text(body)
    with pytest.raises(TierConfigError, match=message):
        load_tiers("x", path)


def test_engine_and_extension_fetch_are_per_tier(tmp_path: Path) -> None:
    """LadybugDB by default, Kuzu selectable; extension files fetched only when a tier names a prefix."""
    path = tmp_path / "tiers.yml"
    path.write_text(
        "x:\n"
        "  plain: {node_type: writer, instance_type: r7g.large, databases_per_instance: 1, memory_per_db_mb: 10,"
        " min: 0, max: 1, volume_size_gb: 1}\n"
        "  old: {node_type: writer, instance_type: r7g.large, databases_per_instance: 1, memory_per_db_mb: 10,"
        " min: 0, max: 1, volume_size_gb: 1, engine: kuzu}\n"
        "  ext: {node_type: writer, instance_type: r7g.large, databases_per_instance: 1, memory_per_db_mb: 10,"
        " min: 0, max: 1, volume_size_gb: 1, ladybug_extensions_s3_url: 's3://artifacts/lbug/0.22.0/'}\n")
    plain, old, ext = load_tiers("x", path)
    assert plain.node_environment()["GRAPH_BACKEND_TYPE"] == "ladybug"
    assert "LADYBUG_EXTENSIONS_S3_URL" not in plain.node_environment()
    assert old.node_environment()["GRAPH_BACKEND_TYPE"] == "kuzu"
    assert ext.node_environment()["LADYBUG_EXTENSIONS_S3_URL"] == "s3://artifacts/lbug/0.22.0/"


def test_bootstrap_fetches_extensions_only_when_asked() -> None:
    script = (Path(__file__).resolve().parents[2] / "cdk" / "node" / "bootstrap.sh").read_text()
    assert 'if [ -n "${LADYBUG_EXTENSIONS_S3_URL:-}" ]; then' in script
    assert "LADYBUG_EXTENSION_DIR=/opt/graph-node/extensions" in script
