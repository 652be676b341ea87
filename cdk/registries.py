"""The DynamoDB registry tables, built from `contracts/registry.py` (the single source of their keys).

Nothing about keys, indexes or names is restated here: each `TableSpec` becomes one table.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk.environments import DeployEnvironment
from contracts.registry import REGISTRY_TABLES, KeySpec, TableSpec

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}


def _attribute(key: KeySpec | None) -> dynamodb.Attribute | None:
    return None if key is None else dynamodb.Attribute(name=key.name, type=_ATTRIBUTE_TYPES[key.type])


def table_env_var(spec: TableSpec) -> str:
    """Environment variable that hands a table's name to code: instance-registry -> INSTANCE_REGISTRY_TABLE."""
    return spec.logical_name.upper().replace("-", "_") + "_TABLE"


class Registries(Construct):
    """All registry tables of one environment, keyed by their logical name ("instance-registry")."""

    def __init__(
        self, scope: Construct, construct_id: str, *, env: DeployEnvironment, encryption_key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.specs: dict[str, TableSpec] = {spec.logical_name: spec for spec in REGISTRY_TABLES}
        self.tables: dict[str, dynamodb.Table] = {
            spec.logical_name: self._table(spec, env, encryption_key) for spec in REGISTRY_TABLES
        }

    def _table(self, spec: TableSpec, env: DeployEnvironment, key: kms.IKey) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            spec.logical_name,
            table_name=spec.table_name(env.name),
            partition_key=_attribute(spec.partition_key),
            sort_key=_attribute(spec.sort_key),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=spec.ttl_attribute,
            deletion_protection=env.retain_data,
            removal_policy=env.removal_policy,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_attribute(index.partition_key),
                sort_key=_attribute(index.sort_key),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table

    def table(self, spec: TableSpec) -> dynamodb.Table:
        return self.tables[spec.logical_name]

    def environment_for(self, *specs: TableSpec) -> dict[str, str]:
        """Table-name environment variables for the given tables (all tables when none are named)."""
        chosen = specs or tuple(self.specs.values())
        return {table_env_var(s): self.tables[s.logical_name].table_name for s in chosen}
