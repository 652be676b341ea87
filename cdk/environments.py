"""Deployment environments (prod, staging, dev) and the names every stack derives from them.

The environment comes from CDK context (`-c env=prod`); account and region are optional context too.
Without them the stacks are environment-agnostic, so `cdk synth` never needs AWS credentials.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from constructs import Node

from contracts.metrics import metric_namespace
from contracts.registry import TABLE_NAME_PREFIX

# Physical names share the registry tables' prefix, so one prefix names everything in an account.
PROJECT = TABLE_NAME_PREFIX
API_PORT = 8001
NEO4J_API_PORT = 8002
NEO4J_BOLT_PORT = 7687
DATA_MOUNT = "/data/kuzu-dbs"


@dataclass(frozen=True)
class DeployEnvironment:
    """What differs between environments besides the tier matrix (that lives in config/tiers.yml)."""

    name: str
    vpc_cidr: str
    nat_gateways: int
    # Production data outlives a stack deletion; dev resources are disposable.
    retain_data: bool
    log_retention: logs.RetentionDays
    snapshot_retention_count: int
    # Node backups (cdk/backups.py): kept per graph and destination, and their maximum age.
    backup_keep_last: int = 7
    backup_max_age_days: int = 30
    account: str | None = None
    region: str | None = None

    @property
    def removal_policy(self) -> cdk.RemovalPolicy:
        return cdk.RemovalPolicy.RETAIN if self.retain_data else cdk.RemovalPolicy.DESTROY

    @property
    def cdk_env(self) -> cdk.Environment | None:
        if self.account is None and self.region is None:
            return None
        return cdk.Environment(account=self.account, region=self.region)

    @property
    def metric_namespace(self) -> str:
        """Spec: "Namespace: RoboSystemsKuzu/{Environment}" (contracts.metrics, the node's default too)."""
        return metric_namespace(self.name)

    def resource_name(self, *parts: str) -> str:
        """`graph-<env>-<parts>`: the prefix every physical name and stack name shares."""
        return "-".join((PROJECT, self.name, *parts))

    def asg_name(self, tier_name: str) -> str:
        """Node group name; the control plane's ASG_NAME_TEMPLATE is this with tier_name="{tier}"."""
        return self.resource_name("writers", tier_name)

    def log_group_name(self, component: str) -> str:
        # Spec: "/robosystems/{env}/kuzu-writer-standard".
        return f"/robosystems/{self.name}/{component}"


_DEFAULTS: dict[str, DeployEnvironment] = {
    "prod": DeployEnvironment(
        name="prod",
        vpc_cidr="10.10.0.0/16",
        nat_gateways=2,
        retain_data=True,
        log_retention=logs.RetentionDays.THREE_MONTHS,
        snapshot_retention_count=14,
        backup_keep_last=14,
        backup_max_age_days=35,
    ),
    "staging": DeployEnvironment(
        name="staging",
        vpc_cidr="10.20.0.0/16",
        nat_gateways=1,
        retain_data=True,
        log_retention=logs.RetentionDays.ONE_MONTH,
        snapshot_retention_count=7,
        backup_keep_last=7,
        backup_max_age_days=14,
    ),
    "dev": DeployEnvironment(
        name="dev",
        vpc_cidr="10.30.0.0/16",
        nat_gateways=1,
        retain_data=False,
        log_retention=logs.RetentionDays.ONE_WEEK,
        snapshot_retention_count=3,
        backup_keep_last=3,
        backup_max_age_days=7,
    ),
}

ENVIRONMENT_NAMES = tuple(_DEFAULTS)


def get_environment(name: str, account: str | None = None, region: str | None = None) -> DeployEnvironment:
    if name not in _DEFAULTS:
        raise ValueError(f"unknown environment {name!r}; expected one of {', '.join(ENVIRONMENT_NAMES)}")
    base = _DEFAULTS[name]
    return DeployEnvironment(**{**base.__dict__, "account": account, "region": region})


def environment_from_context(node: Node) -> DeployEnvironment:
    """Reads `env`, `account` and `region` from CDK context (cdk.json or `-c key=value`)."""
    return get_environment(
        str(node.try_get_context("env") or "dev"),
        account=_optional_str(node.try_get_context("account")),
        region=_optional_str(node.try_get_context("region")),
    )


def autoscaling_group_arn(stack: cdk.Stack, group_name: str) -> str:
    """ARN of a group by name (its id part is random, so it is a wildcard; `group_name` may be one too)."""
    return stack.format_arn(
        service="autoscaling",
        resource="autoScalingGroup",
        resource_name=f"*:autoScalingGroupName/{group_name}",
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )


def context_flag(node: Node, key: str) -> bool:
    """Context values arrive as strings from `-c key=true` and as booleans from cdk.json."""
    value = node.try_get_context(key)
    return value is True or str(value).lower() in {"true", "1", "yes"}


def _optional_str(value: object) -> str | None:
    return None if value in (None, "") else str(value)
