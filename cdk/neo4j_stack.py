"""Optional Neo4j Community backend (context flag `neo4j=true`; spec: "Neo4j Backend Infrastructure").

One EC2 node in a single-instance autoscaling group: Neo4j 5 on an encrypted data volume and the node
API in front of it on port 8002. Bolt (7687) and the API are reachable from the VPC only.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk.backups import BackupStorage
from cdk.encryption import grant_secret_read
from cdk.environments import NEO4J_API_PORT, NEO4J_BOLT_PORT, DeployEnvironment
from cdk.nag import suppress
from cdk.node_group import (
    HARDENED_INSTANCE,
    amazon_linux_for,
    encrypted_volume,
    grant_bundle_read,
    node_api_bundle,
    node_role,
    vpc_only_security_group,
)
from cdk.user_data import NEO4J_NODE, node_user_data

INSTANCE_TYPE = "r7g.large"
DATA_VOLUME_GB = 100


class Neo4jStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env: DeployEnvironment,
        vpc: ec2.IVpc,
        api_key_secret: secretsmanager.ISecret,
        encryption_key: kms.IKey,
        alerts: sns.ITopic,
        backups: BackupStorage,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, env=env.cdk_env, **kwargs)
        self.password = secretsmanager.Secret(
            self,
            "Password",
            secret_name=env.resource_name("neo4j-password"),
            description="Neo4j 'neo4j' user password, read by the Neo4j node at boot",
            encryption_key=encryption_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template="{}", generate_string_key="password", exclude_punctuation=True
            ),
            removal_policy=env.removal_policy,
        )
        suppress(
            self.password,
            "AwsSolutions-SMG4",
            "Rotating the Neo4j password needs a Neo4j-aware rotation function (not built yet); the password "
            "only opens Bolt, which is reachable from inside the VPC only",
        )
        self.security_group = vpc_only_security_group(
            self, vpc=vpc, env=env, ports={NEO4J_API_PORT: "node API", NEO4J_BOLT_PORT: "Bolt"}, name="neo4j"
        )
        bundle = node_api_bundle(self)
        self.role = node_role(self, "Neo4j node: its password, the API key, the node API bundle, its backups")
        for secret in (self.password, api_key_secret):
            grant_secret_read(self.role, secret, encryption_key)
        grant_bundle_read(self.role, bundle)
        backups.grant_node_access(self.role)
        settings = {
            "ENVIRONMENT": env.name,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "GRAPH_BACKEND_TYPE": "neo4j_community",
            "KUZU_HOST": "0.0.0.0",
            "GRAPH_API_PORT": str(NEO4J_API_PORT),
            "NEO4J_URI": f"bolt://127.0.0.1:{NEO4J_BOLT_PORT}",
            "NEO4J_USERNAME": "neo4j",
            "NEO4J_PASSWORD_SECRET_ID": self.password.secret_arn,
            "GRAPH_API_KEY_SECRET_ID": api_key_secret.secret_arn,
            "NODE_BUNDLE_S3_URL": bundle.s3_object_url,
            **backups.node_environment(),
        }
        template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            launch_template_name=env.resource_name("neo4j"),
            instance_type=ec2.InstanceType(INSTANCE_TYPE),
            machine_image=amazon_linux_for(INSTANCE_TYPE),
            role=self.role,
            security_group=self.security_group,
            user_data=node_user_data(settings, files=NEO4J_NODE),
            # The graph store outlives the instance (kept on termination for a manual re-attach).
            block_devices=[
                encrypted_volume("/dev/xvda", 30),
                encrypted_volume("/dev/sdf", DATA_VOLUME_GB, keep=True),
            ],
            **HARDENED_INSTANCE,
        )
        self.asg = autoscaling.AutoScalingGroup(
            self,
            "Group",
            auto_scaling_group_name=env.resource_name("neo4j"),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            launch_template=template,
            min_capacity=1,
            max_capacity=1,
            notifications=[
                autoscaling.NotificationConfiguration(
                    topic=alerts, scaling_events=autoscaling.ScalingEvents.ALL
                )
            ],
        )
