"""The node API key: a Secrets Manager secret, rotated every 90 days by the key-rotation Lambda.

Format (shared with contracts/api_keys.py): JSON `{"api_key": "<64 letters and digits>"}`.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk.control_plane import ControlPlaneFunction
from cdk.environments import DeployEnvironment
from cdk.nag import ANY_RESOURCE, suppress
from contracts.api_keys import API_KEY_LENGTH, SECRET_FIELD

ROTATION_INTERVAL = cdk.Duration.days(90)  # spec: "Automatic 90-day rotation via Lambda"


class ApiKeySecret(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, env: DeployEnvironment, encryption_key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            secret_name=env.resource_name("api-key"),
            description="X-Graph-API-Key accepted by every graph node",
            encryption_key=encryption_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template="{}",
                generate_string_key=SECRET_FIELD,
                password_length=API_KEY_LENGTH,
                exclude_punctuation=True,
                include_space=False,
            ),
            removal_policy=env.removal_policy,
        )
        self.rotation = ControlPlaneFunction(
            self,
            "Rotation",
            env=env,
            service="key_rotation",
            description="Rotates the graph node API key (Secrets Manager rotation steps)",
            environment={},
        )
        self.rotation.allow(
            [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ],
            [self.secret.secret_arn],
        )
        # Reading versions decrypts; PutSecretValue encrypts the new version under the same key.
        self.rotation.allow(["kms:Decrypt", "kms:GenerateDataKey"], [encryption_key.key_arn])
        self.secret.add_rotation_schedule(
            "RotationSchedule", rotation_lambda=self.rotation.function, automatically_after=ROTATION_INTERVAL
        )
        suppress(
            self.rotation.role,
            "AwsSolutions-IAM5",
            "The rotation schedule grants secretsmanager:GetRandomPassword, which supports no resource-level "
            "permissions",
            [ANY_RESOURCE],
        )
