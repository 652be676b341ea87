"""One tier of graph nodes: security group, role, launch template with user data, autoscaling group
and its launch/termination lifecycle hooks.

Used for every writer tier and for the shared master (a tier with node_type shared_master).
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk.backups import BackupStorage
from cdk.encryption import grant_secret_read
from cdk.environments import API_PORT, DATA_MOUNT, DeployEnvironment, autoscaling_group_arn
from cdk.nag import ANY_RESOURCE, suppress
from cdk.source import NODE_API_EXCLUDES, REPO_ROOT
from cdk.tiers import Tier
from cdk.user_data import cloudwatch_agent_config, node_user_data

LAUNCH_HOOK = "graph-node-launching"
TERMINATE_HOOK = "graph-node-terminating"
# Bootstrap installs packages and the node API; draining closes every open database.
LAUNCH_TIMEOUT = cdk.Duration.minutes(20)
TERMINATE_TIMEOUT = cdk.Duration.minutes(10)
ROOT_VOLUME_GB = 30


# Launch template settings every graph node shares: IMDSv2 only (no hop past the instance),
# detailed monitoring, EBS-optimized.
SSM_POLICY = "AmazonSSMManagedInstanceCore"
HARDENED_INSTANCE: dict = {
    "require_imdsv2": True,
    "http_put_response_hop_limit": 1,
    "detailed_monitoring": True,
    "ebs_optimized": True,
}


def vpc_only_security_group(
    scope: Construct, *, vpc: ec2.IVpc, env: DeployEnvironment, ports: dict[int, str], name: str
) -> ec2.SecurityGroup:
    """Ingress only from the VPC CIDR on the given ports (spec: "Port 8001/8002 restricted to VPC CIDR")."""
    group = ec2.SecurityGroup(
        scope,
        "SecurityGroup",
        vpc=vpc,
        description=f"{name}: reachable from inside the VPC only",
        allow_all_outbound=True,  # AWS APIs and package installs through the NAT gateway
    )
    for port, what in ports.items():
        group.add_ingress_rule(ec2.Peer.ipv4(env.vpc_cidr), ec2.Port.tcp(port), f"{what} from the VPC")
    return group


def node_role(scope: Construct, description: str) -> iam.Role:
    role = iam.Role(
        scope,
        "Role",
        assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
        description=description,
        # Session Manager access for operators instead of SSH keys and open ports.
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(SSM_POLICY)],
    )
    suppress(
        role,
        "AwsSolutions-IAM4",
        "AmazonSSMManagedInstanceCore is the minimal policy AWS maintains for the SSM agent; Session Manager "
        "replaces SSH keys and any open management port",
        [f"Policy::arn:<AWS::Partition>:iam::aws:policy/{SSM_POLICY}"],
    )
    return role


def grant_bundle_read(role: iam.IRole, bundle: s3_assets.Asset) -> None:
    """The one object of the node API bundle (not the whole asset bucket, as Asset.grant_read would)."""
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["s3:GetObject"], resources=[bundle.bucket.arn_for_objects(bundle.s3_object_key)]
        )
    )


def node_api_bundle(scope: Construct) -> s3_assets.Asset:
    """The node API source the nodes pip-install (see cdk/source.py)."""
    return s3_assets.Asset(scope, "NodeApiBundle", path=str(REPO_ROOT), exclude=NODE_API_EXCLUDES)


def amazon_linux_for(instance_type: str) -> ec2.IMachineImage:
    """Amazon Linux 2023 of the instance's architecture (Graviton types get arm64), resolved from SSM
    at deploy time, so synth needs no AMI lookup."""
    arm = ec2.InstanceType(instance_type).architecture == ec2.InstanceArchitecture.ARM_64
    cpu = ec2.AmazonLinuxCpuType.ARM_64 if arm else ec2.AmazonLinuxCpuType.X86_64
    return ec2.MachineImage.latest_amazon_linux2023(cpu_type=cpu)


def encrypted_volume(device_name: str, size_gb: int, *, keep: bool = False) -> ec2.BlockDevice:
    return ec2.BlockDevice(
        device_name=device_name,
        volume=ec2.BlockDeviceVolume.ebs(
            size_gb, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3, delete_on_termination=not keep
        ),
    )


@dataclass(frozen=True)
class NodeDependencies:
    """What a node uses from the infrastructure and volumes stacks."""

    vpc: ec2.IVpc
    instance_registry: dynamodb.ITable
    api_key_secret: secretsmanager.ISecret
    data_key: kms.IKey  # encrypts the API key secret
    volume_manager: lambda_.IFunction
    alerts: sns.ITopic
    router_url: lambda_.FunctionUrl
    backups: BackupStorage  # bucket and signing key of the node's backups


class NodeGroup(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env: DeployEnvironment,
        tier: Tier,
        deps: NodeDependencies,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.asg_name = env.asg_name(tier.name)

        self.security_group = vpc_only_security_group(
            self, vpc=deps.vpc, env=env, ports={API_PORT: "node API"}, name=tier.component
        )

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=env.log_group_name(tier.component),
            retention=env.log_retention,
            removal_policy=env.removal_policy,
        )
        bundle = node_api_bundle(self)
        self.role = node_role(
            self, f"{tier.component} node: registry row, its volume, the API key, its lifecycle"
        )
        self._grant(stack, env, deps, bundle, tier)
        settings = {
            "ENVIRONMENT": env.name,
            "AWS_REGION": stack.region,
            "AWS_DEFAULT_REGION": stack.region,
            **tier.node_environment(),  # GRAPH_BACKEND_TYPE among them: the tier's engine
            "KUZU_DATABASE_PATH": DATA_MOUNT,
            "KUZU_HOST": "0.0.0.0",  # reachable by the VPC; the security group limits who
            "KUZU_PORT": str(API_PORT),
            "GRAPH_API_KEY_SECRET_ID": deps.api_key_secret.secret_arn,
            "INSTANCE_REGISTRY_TABLE": deps.instance_registry.table_name,
            "VOLUME_MANAGER_FUNCTION": deps.volume_manager.function_name,
            "VOLUME_SIZE_GB": str(tier.volume_size_gb),
            "ASG_NAME": self.asg_name,
            "LAUNCH_HOOK_NAME": LAUNCH_HOOK,
            "TERMINATE_HOOK_NAME": TERMINATE_HOOK,
            "NODE_BUNDLE_S3_URL": bundle.s3_object_url,
            # The node API's cluster membership (node_api/cluster/settings.py): registration and
            # heartbeat, and VolumeUsagePercent for DATA_VOLUME_ID (appended by bootstrap.sh).
            "CLUSTER_REGISTRATION_ENABLED": "true",
            # The router API, for graph-cli on the node (its metric namespaces are the contract's defaults).
            "GRAPH_ROUTER_URL": deps.router_url.url,
            **deps.backups.node_environment(),
        }
        self.launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            launch_template_name=env.resource_name(tier.component),
            instance_type=ec2.InstanceType(tier.instance_type),
            machine_image=amazon_linux_for(tier.instance_type),
            role=self.role,
            security_group=self.security_group,
            user_data=node_user_data(
                settings,
                agent_config=cloudwatch_agent_config(log_group=self.log_group.log_group_name),
            ),
            block_devices=[encrypted_volume("/dev/xvda", ROOT_VOLUME_GB)],
            **HARDENED_INSTANCE,
        )
        self.asg = autoscaling.AutoScalingGroup(
            self,
            "Group",
            auto_scaling_group_name=self.asg_name,
            vpc=deps.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            launch_template=self.launch_template,
            min_capacity=tier.min_capacity,
            max_capacity=tier.max_capacity,
            health_checks=autoscaling.HealthChecks.ec2(grace_period=LAUNCH_TIMEOUT),
            # Replace one node at a time: each holds tenant databases on its own volume.
            update_policy=autoscaling.UpdatePolicy.rolling_update(max_batch_size=1),
            notifications=[
                autoscaling.NotificationConfiguration(
                    topic=deps.alerts, scaling_events=autoscaling.ScalingEvents.ALL
                )
            ],
            group_metrics=[autoscaling.GroupMetrics.all()],
        )
        # Launch: held in Pending:Wait until bootstrap reports healthy (ABANDON if it never does).
        self.asg.add_lifecycle_hook(
            "Launching",
            lifecycle_hook_name=LAUNCH_HOOK,
            lifecycle_transition=autoscaling.LifecycleTransition.INSTANCE_LAUNCHING,
            heartbeat_timeout=LAUNCH_TIMEOUT,
            default_result=autoscaling.DefaultResult.ABANDON,
        )
        # Termination: held in Terminating:Wait while the node drains and releases its volume.
        self.asg.add_lifecycle_hook(
            "Terminating",
            lifecycle_hook_name=TERMINATE_HOOK,
            lifecycle_transition=autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
            heartbeat_timeout=TERMINATE_TIMEOUT,
            default_result=autoscaling.DefaultResult.CONTINUE,
        )
        cdk.Tags.of(self).add("Component", tier.component)
        cdk.Tags.of(self).add("WriterTier", tier.name)

    def _grant(
        self,
        stack: cdk.Stack,
        env: DeployEnvironment,
        deps: NodeDependencies,
        bundle: s3_assets.Asset,
        tier: Tier,
    ) -> None:
        statements = [
            # Its own registry row: register, heartbeat, status, deregister.
            iam.PolicyStatement(
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                ],
                resources=[deps.instance_registry.table_arn],
            ),
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[deps.volume_manager.function_arn]
            ),
            iam.PolicyStatement(
                actions=["autoscaling:CompleteLifecycleAction"],
                resources=[autoscaling_group_arn(stack, self.asg_name)],
            ),
            # PutMetricData has no resource-level permissions; the namespace condition scopes it.
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": env.metric_namespace}},
            ),
        ]
        for statement in statements:
            self.role.add_to_principal_policy(statement)
        suppress(
            self.role,
            "AwsSolutions-IAM5",
            "cloudwatch:PutMetricData supports no resource-level permissions (limited to the environment's "
            "namespace by condition); the group ARN embeds a random id, so the node's own group is matched by name",
            [
                ANY_RESOURCE,
                f"Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/{self.asg_name}",
            ],
        )
        grant_secret_read(self.role, deps.api_key_secret, deps.data_key)
        deps.router_url.grant_invoke_url(self.role)
        grant_bundle_read(self.role, bundle)
        if tier.ladybug_extensions_s3_url:  # read-only, that prefix only (bootstrap.sh copies it at boot)
            bucket, _, prefix = tier.ladybug_extensions_s3_url.removeprefix("s3://").partition("/")
            s3.Bucket.from_bucket_name(self, "LadybugExtensions", bucket).grant_read(self.role, f"{prefix}*")
        deps.backups.grant_node_access(self.role)
        self.log_group.grant_write(self.role)
        # The CloudWatch agent creates its streams and describes the group it writes to.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["logs:DescribeLogStreams"], resources=[self.log_group.log_group_arn])
        )
