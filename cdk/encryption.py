"""The environment's customer-managed KMS key: encrypts registry tables, secrets and SNS topics.

A customer-managed key (not the AWS-managed aws/sns key) is required because CloudWatch alarms and
EventBridge can only publish to encrypted topics whose key policy lets those services use the key.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk.environments import DeployEnvironment

# Services that publish to the alert topics and therefore must be able to use the key.
_PUBLISHING_SERVICES = ("cloudwatch.amazonaws.com", "events.amazonaws.com")
AUTOSCALING_ROLE_ARN = (
    f"arn:{cdk.Aws.PARTITION}:iam::{cdk.Aws.ACCOUNT_ID}:role/aws-service-role/autoscaling.amazonaws.com/"
    "AWSServiceRoleForAutoScaling"
)


class DataKey(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env: DeployEnvironment) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/{env.resource_name('data')}",
            description=f"Encrypts the {env.name} graph cluster registries, secrets and alert topics",
            enable_key_rotation=True,
            removal_policy=env.removal_policy,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmAndEventPublishingToEncryptedTopics",
                principals=[iam.ServicePrincipal(s) for s in _PUBLISHING_SERVICES],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy "*" means this key
            )
        )
        # Autoscaling group notifications are published by the Auto Scaling service-linked role.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAutoScalingNotificationsToEncryptedTopics",
                principals=[iam.AccountRootPrincipal()],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"ArnLike": {"aws:PrincipalArn": AUTOSCALING_ROLE_ARN}},
            )
        )


def grant_secret_read(grantee: iam.IGrantable, secret: secretsmanager.ISecret, key: kms.IKey) -> None:
    """Read access to a CMK-encrypted secret from another stack, through the grantee's own policy.

    `Secret.grant_read` would add the grantee to the key policy (a reference back from the key's
    stack, i.e. a dependency cycle); the key policy already delegates to IAM, so this is enough.
    """
    principal = grantee.grant_principal
    principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            resources=[secret.secret_arn],
        )
    )
    principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["kms:Decrypt"],
            resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{cdk.Aws.REGION}.amazonaws.com"}},
        )
    )
