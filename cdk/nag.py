"""cdk-nag suppressions, each with its reason. Constructs call `suppress` next to the resource that
needs it, so a suppression lives (and is reviewed) beside the decision it documents."""

from __future__ import annotations

from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import IConstruct

# Findings on IAM policies, in cdk-nag's "appliesTo" notation (regexes for token-named resources).
TABLE_INDEXES = RegexAppliesTo(regex=r"/^Resource::.*Registries[a-z]+registry.*\/index\/\*$/")
KMS_DATA_KEY_ACTIONS = ["Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"]
ANY_RESOURCE = "Resource::*"


def suppress(
    construct: IConstruct, rule: str, reason: str, applies_to: list[str | RegexAppliesTo] | None = None
) -> None:
    """Suppress `rule` (e.g. "AwsSolutions-IAM5") on `construct` and its children."""
    NagSuppressions.add_resource_suppressions(
        construct,
        [NagPackSuppression(id=rule, reason=reason, applies_to=applies_to)],
        apply_to_children=True,
    )


def suppress_table_grant(role: IConstruct) -> None:
    """`Table.grant_*` on a CMK-encrypted table: index ARNs of the granted tables and the key's data-key actions."""
    suppress(
        role,
        "AwsSolutions-IAM5",
        "Table grants cover the granted tables' own secondary indexes (table-ARN/index/*) and the data-key "
        "actions (GenerateDataKey*, ReEncrypt*) on the one customer-managed key that encrypts them",
        [TABLE_INDEXES, *KMS_DATA_KEY_ACTIONS],
    )


def suppress_unscoped_actions(role: IConstruct, actions: list[str]) -> None:
    """For actions that support no resource-level permissions (describe, metrics)."""
    suppress(
        role,
        "AwsSolutions-IAM5",
        f"{', '.join(actions)} support no resource-level permissions (AWS service authorization reference); "
        "conditions scope them where the service offers one",
        [ANY_RESOURCE],
    )
