"""boto3 clients and registry tables, built lazily from the settings (never at import)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import boto3

from lambdas.common.settings import ControlPlaneSettings, get_settings


@dataclass
class Aws:
    """One bundle of clients per settings object; handlers share it across warm invocations."""

    settings: ControlPlaneSettings

    def client(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self.settings.aws_endpoint_url)

    @cached_property
    def _session(self) -> boto3.session.Session:
        return boto3.session.Session(region_name=self.settings.region)

    @cached_property
    def dynamodb(self) -> Any:
        return self._session.resource("dynamodb", endpoint_url=self.settings.aws_endpoint_url)

    @cached_property
    def registry(self) -> Registry:
        return Registry(
            db=self.dynamodb,
            instances=self.dynamodb.Table(self.settings.instance_table),
            graphs=self.dynamodb.Table(self.settings.graph_table),
            volumes=self.dynamodb.Table(self.settings.volume_table),
        )

    @cached_property
    def ec2(self) -> Any:
        return self.client("ec2")

    @cached_property
    def sns(self) -> Any:
        return self.client("sns")

    @cached_property
    def autoscaling(self) -> Any:
        return self.client("autoscaling")

    @cached_property
    def cloudwatch(self) -> Any:
        return self.client("cloudwatch")

    @cached_property
    def secretsmanager(self) -> Any:
        return self.client("secretsmanager")


@dataclass(frozen=True)
class Registry:
    """The three registry tables (boto3 resource API: plain Python values, Decimal numbers)."""

    db: Any
    instances: Any
    graphs: Any
    volumes: Any

    @property
    def client(self) -> Any:
        # The resource's client serializes plain Python values, including inside transactions.
        return self.db.meta.client


def scan_all(table: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """Scan or query pages until done (registries are small: tens to hundreds of rows)."""
    return _paginate(table.scan, **kwargs)


def query_all(table: Any, **kwargs: Any) -> list[dict[str, Any]]:
    return _paginate(table.query, **kwargs)


def _paginate(call: Any, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = call(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def is_condition_failure(error: Exception) -> bool:
    return getattr(error, "response", {}).get("Error", {}).get("Code") == "ConditionalCheckFailedException"


@lru_cache(maxsize=1)
def get_aws() -> Aws:
    """The warm container's clients; tests call `get_aws.cache_clear()` with `get_settings`'s."""
    return Aws(get_settings())
