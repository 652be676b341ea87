"""Single source of truth for the DynamoDB registry tables (instance, graph, volume, idempotency).

Plain data (`REGISTRY_TABLES`, one `TableSpec` each) that CDK turns into `dynamodb.Table` constructs,
typed item models for every row shape, the id formats of graphs and tiers, and `create_tables()` for
tests and the local cluster. Nothing here talks to AWS at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from contracts.enums import GraphStatus, InstanceStatus, NodeType, RepositoryType, VolumeStatus

TABLE_NAME_PREFIX = "graph-cluster"

# Graph ids become directory names on the node: no separators, no dots.
GRAPH_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
TIER_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}$"
GraphId = Annotated[str, Field(pattern=GRAPH_ID_PATTERN)]
Tier = Annotated[str, Field(pattern=TIER_PATTERN)]

AttributeType = Literal["S", "N", "B"]


@dataclass(frozen=True)
class KeySpec:
    name: str
    type: AttributeType = "S"


@dataclass(frozen=True)
class IndexSpec:
    """A global secondary index; every index projects ALL attributes (rows are small)."""

    name: str
    partition_key: KeySpec
    sort_key: KeySpec | None = None


@dataclass(frozen=True)
class TableSpec:
    logical_name: str  # "instance-registry", used in the physical name and as CDK construct id
    partition_key: KeySpec
    sort_key: KeySpec | None = None
    indexes: tuple[IndexSpec, ...] = ()
    ttl_attribute: str | None = None
    description: str = ""

    def table_name(self, environment: str) -> str:
        return f"{TABLE_NAME_PREFIX}-{environment}-{self.logical_name}"

    def attribute_definitions(self) -> list[dict[str, str]]:
        """Every key attribute used by the table or an index, once (DynamoDB rejects duplicates)."""
        keys: dict[str, str] = {}
        for key in (self.partition_key, self.sort_key):
            if key is not None:
                keys[key.name] = key.type
        for index in self.indexes:
            for key in (index.partition_key, index.sort_key):
                if key is not None:
                    keys[key.name] = key.type
        return [{"AttributeName": n, "AttributeType": t} for n, t in keys.items()]


# --- index names (referenced by the Lambdas; keep in sync with the specs below) ---------------------
INSTANCES_BY_TIER_STATUS = "cluster_tier-status-index"
GRAPHS_BY_INSTANCE = "instance_id-index"
GRAPHS_BY_ENTITY = "entity_id-index"
VOLUMES_BY_DATABASE = "database_id-index"
VOLUMES_BY_INSTANCE = "instance_id-index"

INSTANCE_REGISTRY = TableSpec(
    logical_name="instance-registry",
    partition_key=KeySpec("instance_id"),
    indexes=(IndexSpec(INSTANCES_BY_TIER_STATUS, KeySpec("cluster_tier"), KeySpec("status")),),
    description="One row per graph node (EC2 writer or local process): tier, endpoint, capacity, heartbeat.",
)
GRAPH_REGISTRY = TableSpec(
    logical_name="graph-registry",
    partition_key=KeySpec("graph_id"),
    indexes=(
        IndexSpec(GRAPHS_BY_INSTANCE, KeySpec("instance_id")),
        IndexSpec(GRAPHS_BY_ENTITY, KeySpec("entity_id")),
    ),
    description="graph_id -> instance placement.",
)
VOLUME_REGISTRY = TableSpec(
    logical_name="volume-registry",
    partition_key=KeySpec("volume_id"),
    indexes=(
        IndexSpec(VOLUMES_BY_DATABASE, KeySpec("database_id")),
        IndexSpec(VOLUMES_BY_INSTANCE, KeySpec("instance_id")),
    ),
    description="EBS volume per graph database: attachment, size, snapshots.",
)
# AWS Lambda Powertools idempotency store (its default attribute names: id, expiration).
IDEMPOTENCY = TableSpec(
    logical_name="idempotency",
    partition_key=KeySpec("id"),
    ttl_attribute="expiration",
    description="Powertools idempotency records for the volume manager.",
)

REGISTRY_TABLES: tuple[TableSpec, ...] = (INSTANCE_REGISTRY, GRAPH_REGISTRY, VOLUME_REGISTRY, IDEMPOTENCY)


# --- item shapes -------------------------------------------------------------------------------------
def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    """Fixed-width UTC ISO-8601 so strings sort and compare like the instants they name."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def now_iso() -> str:
    return iso(utc_now())


class _Item(BaseModel):
    model_config = ConfigDict(extra="ignore", use_enum_values=True)

    def to_item(self) -> dict[str, Any]:
        """Attributes for boto3's resource API; None values are left out (DynamoDB has no nulls in keys)."""
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Self:
        # boto3's resource layer returns Decimal for numbers; pydantic coerces them to int.
        return cls.model_validate(item)


class InstanceItem(_Item):
    instance_id: str
    cluster_tier: str
    node_type: NodeType = NodeType.WRITER
    private_ip: str
    port: int = Field(8001, ge=1, le=65535)
    status: InstanceStatus = InstanceStatus.INITIALIZING
    # Allocator-owned: slots reserved by graph allocations. Only the allocator's conditional writes
    # change it, so concurrent allocations can never exceed max_databases.
    database_count: int = Field(0, ge=0)
    max_databases: int = Field(10, ge=1)
    # Node-owned: databases actually open on disk, reported by the heartbeat (never used for capacity).
    reported_database_count: int | None = Field(None, ge=0)
    created_at: str = Field(default_factory=now_iso)
    last_heartbeat: str = Field(default_factory=now_iso)
    # When the node first reported healthy: only a node that has served can be declared dead (a node
    # still booting is the autoscaling group's launch hook's business).
    ready_at: str | None = None
    availability_zone: str | None = None
    status_reason: str | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.private_ip}:{self.port}"

    @property
    def free_capacity(self) -> int:
        return max(self.max_databases - self.database_count, 0)


class GraphItem(_Item):
    graph_id: str
    instance_id: str
    entity_id: str
    repository_type: RepositoryType = RepositoryType.ENTITY
    cluster_tier: str
    status: GraphStatus = GraphStatus.ACTIVE
    created_at: str = Field(default_factory=now_iso)
    status_reason: str | None = None


class VolumeItem(_Item):
    volume_id: str
    database_id: str
    tier: str
    size_gb: int = Field(ge=1)
    availability_zone: str
    status: VolumeStatus = VolumeStatus.AVAILABLE
    instance_id: str | None = None
    device: str | None = None
    snapshot_id: str | None = None  # the snapshot it was restored from
    last_snapshot_id: str | None = None
    last_expanded_at: str | None = None
    expansion_count: int = 0
    created_at: str = Field(default_factory=now_iso)
    updated_at: str = Field(default_factory=now_iso)
    # Failover: the dead instance whose data this volume holds, until an adopter has taken it over;
    # `adopted_by` is the adopter that won the claim (a conditional write: one adopter per volume).
    orphaned_from: str | None = None
    adopted_by: str | None = None


# --- table creation ----------------------------------------------------------------------------------
def create_table_kwargs(spec: TableSpec, environment: str) -> dict[str, Any]:
    """Arguments for `dynamodb.create_table` (on-demand billing, like the CDK tables)."""
    key_schema = [{"AttributeName": spec.partition_key.name, "KeyType": "HASH"}]
    if spec.sort_key:
        key_schema.append({"AttributeName": spec.sort_key.name, "KeyType": "RANGE"})
    kwargs: dict[str, Any] = {
        "TableName": spec.table_name(environment),
        "KeySchema": key_schema,
        "AttributeDefinitions": spec.attribute_definitions(),
        "BillingMode": "PAY_PER_REQUEST",
    }
    if spec.indexes:
        gsis = []
        for index in spec.indexes:
            schema = [{"AttributeName": index.partition_key.name, "KeyType": "HASH"}]
            if index.sort_key:
                schema.append({"AttributeName": index.sort_key.name, "KeyType": "RANGE"})
            gsis.append(
                {"IndexName": index.name, "KeySchema": schema, "Projection": {"ProjectionType": "ALL"}}
            )
        kwargs["GlobalSecondaryIndexes"] = gsis
    return kwargs


def create_tables(
    dynamodb_client: Any,
    environment: str,
    tables: tuple[TableSpec, ...] = REGISTRY_TABLES,
) -> dict[str, str]:
    """Create the registry tables if missing (idempotent); returns logical name -> physical name.

    `dynamodb_client` is a boto3 DynamoDB *client* (tests pass one bound to moto or a local endpoint).
    """
    names: dict[str, str] = {}
    for spec in tables:
        name = spec.table_name(environment)
        names[spec.logical_name] = name
        try:
            dynamodb_client.create_table(**create_table_kwargs(spec, environment))
        except dynamodb_client.exceptions.ResourceInUseException:
            continue  # already there
        dynamodb_client.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        if spec.ttl_attribute:
            dynamodb_client.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
            )
    return names
