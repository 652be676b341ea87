"""Client settings: arguments win, then GRAPH_CLIENT_* environment variables, then these defaults."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ClientConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRAPH_CLIENT_", extra="ignore", populate_by_name=True)

    # --- one node ---------------------------------------------------------------------------------
    base_url: str = "http://127.0.0.1:8001"
    # The node's key; GRAPH_API_KEY (what the node itself reads) works too, for local development.
    api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("GRAPH_CLIENT_API_KEY", "GRAPH_API_KEY"))
    timeout_s: float = Field(30.0, gt=0, description="Read timeout; a query's own timeout extends it.")
    connect_timeout_s: float = Field(5.0, gt=0)
    max_connections: int = Field(20, ge=1)

    # --- retries (tenacity) -----------------------------------------------------------------------
    max_attempts: int = Field(4, ge=1, description="Attempts per call, the first included.")
    backoff_initial_s: float = Field(0.2, gt=0)
    backoff_max_s: float = Field(10.0, gt=0)
    retry_after_max_s: float = Field(30.0, ge=0, description="Longest Retry-After honoured; longer ones fail.")
    retry_writes: bool = Field(False, description="Also retry non-idempotent calls after ambiguous failures.")

    # --- circuit breaker per node (purgatory) -----------------------------------------------------
    breaker_threshold: int = Field(5, ge=1, description="Consecutive failures that open the circuit.")
    breaker_recovery_s: float = Field(30.0, gt=0, description="Open time before a half-open trial call.")

    # --- routing (client.factory) -----------------------------------------------------------------
    # The router API (Lambda function URL, IAM auth): when set, graphs are found through it and the
    # registries are never read directly. Also GRAPH_ROUTER_URL (what the CDK and the local cluster export).
    router_url: str | None = Field(None, validation_alias=AliasChoices("GRAPH_CLIENT_ROUTER_URL", "GRAPH_ROUTER_URL"))
    # SigV4 signing name: "lambda" for a function URL, "execute-api" for an HTTP API.
    router_signing_service: str = "lambda"
    router_timeout_s: float = Field(10.0, gt=0)
    environment: str = Field("dev", validation_alias=AliasChoices("GRAPH_CLIENT_ENVIRONMENT", "ENVIRONMENT"))
    region: str = Field("us-east-1", validation_alias=AliasChoices("GRAPH_CLIENT_REGION", "AWS_REGION"))
    # Local DynamoDB / moto; unset means AWS.
    aws_endpoint_url: str | None = Field(
        None, validation_alias=AliasChoices("GRAPH_CLIENT_AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL")
    )
    # Local development: every graph is on this one node and the registry is never read.
    # Without router_url and local_url the registries are read directly (inside the VPC only).
    local_url: str | None = None
    route_ttl_s: float = Field(60.0, ge=0, description="How long a graph -> node mapping is cached.")
    shared_repositories: frozenset[str] = frozenset({"sec"})
    default_tier: str = "standard"
