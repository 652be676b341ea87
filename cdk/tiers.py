"""The tier matrix: which node groups an environment runs, read from `cdk/config/tiers.yml`.

A tier is one autoscaling group of identical nodes. Writers host many (or one) tenant databases;
the single `shared_master` tier hosts the shared repositories.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from contracts.enums import NodeType

TIERS_FILE = Path(__file__).parent / "config" / "tiers.yml"
ENGINES = ("ladybug", "kuzu")  # embedded engines a tier may run (node_api/backends/embedded/profiles.py)


@dataclass(frozen=True)
class Tier:
    name: str
    node_type: NodeType
    instance_type: str
    databases_per_instance: int | None
    memory_per_db_mb: int | None
    max_memory_mb: int
    min_capacity: int
    max_capacity: int
    volume_size_gb: int
    # The embedded engine (GRAPH_BACKEND_TYPE): LadybugDB unless a tier keeps Kuzu (README, "Engines").
    engine: str = "ladybug"
    # s3://bucket/prefix/ holding lib<name>.lbug_extension files the node copies at boot into
    # LADYBUG_EXTENSION_DIR (docs/engine-facts.md); None (the default): no extension is fetched.
    ladybug_extensions_s3_url: str | None = None

    @property
    def component(self) -> str:
        """Component name used in log groups, tags and stack names (spec: kuzu-writer-standard)."""
        if self.node_type is NodeType.SHARED_MASTER:
            return "kuzu-shared-master"
        return f"kuzu-writer-{self.name}"

    def node_environment(self) -> dict[str, str]:
        """Capacity settings handed to the node API (names as read by node_api/settings.py)."""
        env = {
            "GRAPH_BACKEND_TYPE": self.engine,
            "KUZU_NODE_TYPE": self.node_type.value,
            "WRITER_TIER": self.name,
            "KUZU_MAX_MEMORY_MB": str(self.max_memory_mb),
        }
        if self.databases_per_instance is not None:
            env["KUZU_MAX_DATABASES_PER_NODE"] = str(self.databases_per_instance)
        if self.memory_per_db_mb is not None:
            env["KUZU_MEMORY_PER_DB_MB"] = str(self.memory_per_db_mb)
        if self.ladybug_extensions_s3_url:
            env["LADYBUG_EXTENSIONS_S3_URL"] = self.ladybug_extensions_s3_url
        return env


class TierConfigError(ValueError):
    pass


def load_tiers(environment: str, path: Path = TIERS_FILE) -> tuple[Tier, ...]:
    document = yaml.safe_load(path.read_text())
    if environment not in document:
        raise TierConfigError(f"{path}: no tiers for environment {environment!r}")
    tiers = tuple(_parse_tier(name, spec) for name, spec in document[environment].items())
    if sum(t.node_type is NodeType.SHARED_MASTER for t in tiers) > 1:
        raise TierConfigError(f"{path}: {environment} has more than one shared_master tier")
    return tiers


def _parse_tier(name: str, spec: dict[str, Any]) -> Tier:
    node_type = NodeType(spec["node_type"])
    dbs = spec.get("databases_per_instance")
    per_db = spec.get("memory_per_db_mb")
    if node_type is NodeType.WRITER and (dbs is None or per_db is None):
        raise TierConfigError(f"writer tier {name!r} needs databases_per_instance and memory_per_db_mb")
    max_memory = spec.get("max_memory_mb") or (dbs * per_db if dbs and per_db else None)
    if max_memory is None:
        raise TierConfigError(f"tier {name!r} needs max_memory_mb")
    tier = Tier(
        name=name,
        node_type=node_type,
        instance_type=spec["instance_type"],
        databases_per_instance=dbs,
        memory_per_db_mb=per_db,
        max_memory_mb=int(max_memory),
        min_capacity=int(spec["min"]),
        max_capacity=int(spec["max"]),
        volume_size_gb=int(spec["volume_size_gb"]),
        engine=str(spec.get("engine") or "ladybug"),
        ladybug_extensions_s3_url=spec.get("ladybug_extensions_s3_url") or None,
    )
    if tier.engine not in ENGINES:
        raise TierConfigError(f"tier {name!r}: engine must be one of {', '.join(ENGINES)}")
    url = tier.ladybug_extensions_s3_url
    if url is not None and (tier.engine != "ladybug" or not url.startswith("s3://") or not url.endswith("/")):
        raise TierConfigError(f"tier {name!r}: ladybug_extensions_s3_url is an s3://bucket/prefix/ of a ladybug tier")
    if not 0 <= tier.min_capacity <= tier.max_capacity or tier.max_capacity < 1:
        raise TierConfigError(f"tier {name!r}: need 0 <= min <= max and max >= 1")
    if dbs is not None and per_db is not None and dbs * per_db > tier.max_memory_mb:
        raise TierConfigError(f"tier {name!r}: databases x memory per database exceeds max_memory_mb")
    return tier
