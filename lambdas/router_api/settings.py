"""Router API settings: the control plane's (tables, region, allocator) plus how requests are
authenticated and which graphs are shared repositories. Environment variables in docs/control-plane.md."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from lambdas.common.settings import ControlPlaneSettings


class AuthMode(StrEnum):
    # Lambda function URL with AuthType AWS_IAM: AWS checks the SigV4 signature before the function
    # runs; the app only requires the caller identity AWS put in the event (requestContext.authorizer.iam).
    EDGE = "edge"
    # uvicorn (local cluster): the app checks the SigV4 signature itself against ROUTER_CREDENTIALS_FILE.
    SIGV4 = "sigv4"


class RouterSettings(ControlPlaneSettings):
    auth_mode: AuthMode = Field(AuthMode.EDGE, validation_alias="ROUTER_AUTH_MODE")
    # JSON {"<access key id>": {"secret_access_key": ..., "session_token": null, "arn": ...}}: the
    # credentials the local cluster issued (sigv4 mode only).
    credentials_file: str = Field("", validation_alias="ROUTER_CREDENTIALS_FILE")
    # What clients sign for: "lambda" for a function URL, "execute-api" for an HTTP API.
    signing_service: str = Field("lambda", validation_alias="ROUTER_SIGNING_SERVICE")
    # SigV4 requests older or newer than this are refused (AWS allows 5 minutes of clock skew).
    max_clock_skew_s: int = Field(300, ge=1, validation_alias="ROUTER_MAX_CLOCK_SKEW_SECONDS")
    default_tier: str = Field("standard", validation_alias="ROUTER_DEFAULT_TIER")
    shared_tier: str = Field("shared", validation_alias="ROUTER_SHARED_TIER")
    # Graph ids that are shared repositories (placed on the shared master) even before they are registered.
    shared_repositories: Annotated[frozenset[str], NoDecode] = Field(frozenset({"sec"}), validation_alias="SHARED_REPOSITORIES")

    @field_validator("shared_repositories", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(v.strip() for v in value.split(",") if v.strip())
        return value


@lru_cache(maxsize=1)
def get_router_settings() -> RouterSettings:
    return RouterSettings()
