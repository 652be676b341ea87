"""The one settings model every control-plane Lambda reads (environment variables, documented in
docs/control-plane.md). Table names default to the registry's naming scheme for ENVIRONMENT."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.metrics import metric_namespace
from contracts.registry import GRAPH_REGISTRY, IDEMPOTENCY, INSTANCE_REGISTRY, VOLUME_REGISTRY


class ControlPlaneSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    environment: str = Field("dev", validation_alias="ENVIRONMENT")
    region: str = Field("us-east-1", validation_alias="AWS_REGION")
    # Tests and the local cluster point boto3 at moto / a local endpoint; empty means real AWS.
    aws_endpoint_url: str | None = Field(None, validation_alias="AWS_ENDPOINT_URL")

    instance_table: str = Field("", validation_alias="INSTANCE_REGISTRY_TABLE")
    graph_table: str = Field("", validation_alias="GRAPH_REGISTRY_TABLE")
    volume_table: str = Field("", validation_alias="VOLUME_REGISTRY_TABLE")
    idempotency_table: str = Field("", validation_alias="IDEMPOTENCY_TABLE")

    # SNS topics; an empty ARN disables that publication (logged instead).
    alert_topic_arn: str = Field("", validation_alias="ALERT_TOPIC_ARN")
    scale_out_topic_arn: str = Field("", validation_alias="SCALE_OUT_TOPIC_ARN")
    volume_alert_topic_arn: str = Field("", validation_alias="VOLUME_ALERT_TOPIC_ARN")

    # Allocator / scale-out.
    scale_out_threshold: float = Field(0.8, gt=0, le=1, validation_alias="SCALE_OUT_THRESHOLD")
    asg_name_template: str = Field(
        "graph-cluster-{environment}-writers-{tier}", validation_alias="ASG_NAME_TEMPLATE"
    )
    allocation_rounds: int = Field(3, ge=1, le=20, validation_alias="ALLOCATION_ROUNDS")

    # Instance monitor.
    heartbeat_timeout_s: int = Field(90, ge=1, validation_alias="HEARTBEAT_TIMEOUT_SECONDS")
    health_check_enabled: bool = Field(True, validation_alias="HEALTH_CHECK_ENABLED")
    health_check_path: str = Field("/status", validation_alias="HEALTH_CHECK_PATH")
    health_check_timeout_s: float = Field(3.0, gt=0, validation_alias="HEALTH_CHECK_TIMEOUT_SECONDS")
    # Failover: a node that has served and is silent this long is dead; its data volume is adopted.
    # Twice the heartbeat timeout: a node that misses beats is first unhealthy (routes say so), and
    # only a node that stays silent loses its graphs.
    failover_enabled: bool = Field(True, validation_alias="FAILOVER_ENABLED")
    dead_after_s: int = Field(180, ge=1, validation_alias="DEAD_AFTER_SECONDS")
    # The volume manager the monitor asks to force-detach a dead node's volume (empty: none).
    volume_manager_function: str = Field("", validation_alias="VOLUME_MANAGER_FUNCTION")

    # Volumes.
    metric_namespace: str = Field("", validation_alias="VOLUME_METRIC_NAMESPACE")
    volume_expand_threshold_percent: float = Field(
        80.0, gt=0, le=100, validation_alias="VOLUME_EXPAND_THRESHOLD_PERCENT"
    )
    volume_expand_factor: float = Field(1.5, gt=1, validation_alias="VOLUME_EXPAND_FACTOR")
    volume_max_size_gb: int = Field(16384, ge=1, validation_alias="VOLUME_MAX_SIZE_GB")
    # EBS refuses a second modification of a volume within 6 hours.
    volume_expand_cooldown_s: int = Field(6 * 3600, ge=0, validation_alias="VOLUME_EXPAND_COOLDOWN_SECONDS")
    volume_metric_period_s: int = Field(300, ge=60, validation_alias="VOLUME_METRIC_PERIOD_SECONDS")
    volume_type: str = Field("gp3", validation_alias="VOLUME_TYPE")
    snapshot_retention_count: int = Field(7, ge=1, validation_alias="SNAPSHOT_RETENTION_COUNT")
    idempotency_ttl_s: int = Field(3600, ge=60, validation_alias="IDEMPOTENCY_TTL_SECONDS")

    @model_validator(mode="after")
    def _derived_names(self) -> ControlPlaneSettings:
        env = self.environment
        self.instance_table = self.instance_table or INSTANCE_REGISTRY.table_name(env)
        self.graph_table = self.graph_table or GRAPH_REGISTRY.table_name(env)
        self.volume_table = self.volume_table or VOLUME_REGISTRY.table_name(env)
        self.idempotency_table = self.idempotency_table or IDEMPOTENCY.table_name(env)
        self.metric_namespace = self.metric_namespace or metric_namespace(env)
        return self

    def asg_name(self, tier: str) -> str:
        return self.asg_name_template.format(environment=self.environment, tier=tier)


@lru_cache(maxsize=1)
def get_settings() -> ControlPlaneSettings:
    """Read once per Lambda container; tests call `get_settings.cache_clear()` after changing env."""
    return ControlPlaneSettings()
