"""AWS settings several parts of the node read (staging, backups, CloudWatch), declared once.

The names are the SDK's: the region, then per service AWS_ENDPOINT_URL_<SERVICE> before the
general AWS_ENDPOINT_URL. Endpoints unset = AWS itself; tests point them at moto.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, Field

DEFAULT_REGION = "us-east-1"

AwsRegion = Annotated[str, Field(validation_alias=AliasChoices("AWS_DEFAULT_REGION", "AWS_REGION"))]


def endpoint_url(service: str) -> Any:
    """The type of a service's endpoint setting (declare it with the default None)."""
    return Annotated[
        str | None, Field(validation_alias=AliasChoices(f"AWS_ENDPOINT_URL_{service.upper()}", "AWS_ENDPOINT_URL"))
    ]


S3EndpointUrl = endpoint_url("s3")
CloudWatchEndpointUrl = endpoint_url("cloudwatch")
