"""Settings of the CloudWatch publisher (core/cloudwatch.py): a section of the node's settings tree."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.metrics import metric_namespace
from node_api.core.aws_settings import DEFAULT_REGION, AwsRegion, CloudWatchEndpointUrl


class CloudWatchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    enabled: bool = Field(False, validation_alias="GRAPH_API_CLOUDWATCH_ENABLED")
    namespace: str | None = Field(None, validation_alias="GRAPH_API_CLOUDWATCH_NAMESPACE")
    interval_s: float = Field(60.0, ge=1, validation_alias="GRAPH_API_CLOUDWATCH_INTERVAL")
    endpoint_url: CloudWatchEndpointUrl = None
    region: AwsRegion = DEFAULT_REGION

    def namespace_for(self, environment: str) -> str:
        """The configured namespace, else the environment's (the one the CDK node role allows)."""
        return self.namespace or metric_namespace(environment)
