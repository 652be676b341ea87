"""Settings for the node's cluster pieces (its own model; env var names match node_api.settings)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.metrics import metric_namespace
from contracts.registry import INSTANCE_REGISTRY, NodeType


class ClusterSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    environment: str = Field("dev", validation_alias="ENVIRONMENT")
    region: str = Field("us-east-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"))
    aws_endpoint_url: str | None = Field(None, validation_alias="AWS_ENDPOINT_URL")

    # Registration. Off by default so a developer's laptop never needs AWS.
    registration_enabled: bool = Field(False, validation_alias="CLUSTER_REGISTRATION_ENABLED")
    instance_table: str = Field("", validation_alias="INSTANCE_REGISTRY_TABLE")
    instance_id: str = Field("local", validation_alias=AliasChoices("INSTANCE_ID", "EC2_INSTANCE_ID"))
    node_type: NodeType = Field(NodeType.WRITER, validation_alias="KUZU_NODE_TYPE")
    tier: str = Field("standard", validation_alias="WRITER_TIER")
    # The address other machines use to reach this node (EC2 private IP); the port is the API's.
    advertise_host: str = Field(
        "127.0.0.1", validation_alias=AliasChoices("NODE_ADVERTISE_HOST", "PRIVATE_IP")
    )
    port: int = Field(8001, ge=1, le=65535, validation_alias=AliasChoices("KUZU_PORT", "GRAPH_API_PORT"))
    max_databases: int = Field(10, ge=1, validation_alias="KUZU_MAX_DATABASES_PER_NODE")
    heartbeat_interval_s: float = Field(30.0, gt=0, validation_alias="NODE_HEARTBEAT_INTERVAL_SECONDS")

    # API keys. With no secret id the static GRAPH_API_KEY is used (local development).
    api_key_secret_id: str = Field("", validation_alias="GRAPH_API_KEY_SECRET_ID")
    static_api_key: SecretStr = Field(SecretStr(""), validation_alias="GRAPH_API_KEY")
    key_refresh_s: float = Field(300.0, gt=0, validation_alias="GRAPH_API_KEY_REFRESH_SECONDS")
    # After a rotation, the previous key stays valid this long (clients refresh their copy meanwhile).
    key_rotation_window_s: float = Field(
        86400.0, ge=0, validation_alias="GRAPH_API_KEY_ROTATION_WINDOW_SECONDS"
    )
    # An unknown key triggers an early refresh at most this often (a just-rotated key must not fail).
    key_miss_refresh_s: float = Field(5.0, ge=0, validation_alias="GRAPH_API_KEY_MISS_REFRESH_SECONDS")

    # Volume usage publication (read by the volume monitor Lambda).
    data_volume_id: str = Field("", validation_alias="DATA_VOLUME_ID")
    metric_namespace: str = Field("", validation_alias="VOLUME_METRIC_NAMESPACE")

    @property
    def metric_namespace_name(self) -> str:
        return self.metric_namespace or metric_namespace(self.environment)

    @property
    def instance_table_name(self) -> str:
        return self.instance_table or INSTANCE_REGISTRY.table_name(self.environment)
