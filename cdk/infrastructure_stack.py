"""Infrastructure stack (spec: kuzu-infra): registries, API-key secret with rotation, alert topics,
the backup bucket and its signing key (cdk/backups.py), the allocator and the scheduled instance monitor. Everything else in the environment builds on it.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from cdk.alerts import AlertTopic
from cdk.api_key import ApiKeySecret
from cdk.backups import BackupStorage
from cdk.control_plane import ControlPlaneFunction
from cdk.encryption import DataKey
from cdk.environments import DeployEnvironment, autoscaling_group_arn
from cdk.nag import suppress
from cdk.registries import Registries
from cdk.router_api import RouterApi
from contracts.registry import GRAPH_REGISTRY, INSTANCE_REGISTRY, VOLUME_REGISTRY

INSTANCE_MONITOR_RATE = cdk.Duration.minutes(1)  # nodes heartbeat every few seconds; timeout is 90 s


class InfrastructureStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env: DeployEnvironment,
        vpc: ec2.IVpc,
        alert_email: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, env=env.cdk_env, **kwargs)
        self.data_key = DataKey(self, "DataKey", env=env).key
        self.registries = Registries(self, "Registries", env=env, encryption_key=self.data_key)
        self.alerts = AlertTopic(
            self,
            "Alerts",
            env=env,
            name="alerts",
            display_name="Graph cluster alerts",
            encryption_key=self.data_key,
            email=alert_email,
        ).topic
        self.scale_out = AlertTopic(
            self,
            "ScaleOut",
            env=env,
            name="scale-out",
            display_name="Graph cluster scale-out signals",
            encryption_key=self.data_key,
            email=alert_email,
        ).topic
        self.api_key = ApiKeySecret(self, "ApiKey", env=env, encryption_key=self.data_key)
        self.api_key.rotation.alarm_on_errors(self.alerts)
        self.backups = BackupStorage(self, "Backups", env=env, encryption_key=self.data_key)

        control_plane_env = {
            **self.registries.environment_for(),
            "ALERT_TOPIC_ARN": self.alerts.topic_arn,
            "SCALE_OUT_TOPIC_ARN": self.scale_out.topic_arn,
            "ASG_NAME_TEMPLATE": env.asg_name("{tier}"),
        }
        # The volumes stack comes after this one: its volume manager is known here by name only.
        volume_manager_name = env.resource_name("volume-manager")
        instances = self.registries.table(INSTANCE_REGISTRY)
        graphs = self.registries.table(GRAPH_REGISTRY)

        self.allocator = ControlPlaneFunction(
            self,
            "Allocator",
            env=env,
            service="allocator",
            description="Places graphs on writer nodes, routes requests, signals scale-out",
            environment=control_plane_env,
        )
        self.allocator.grant_tables(instances, graphs)
        self.scale_out.grant_publish(self.allocator.role)
        # Describe calls have no resource-level permissions; changes are limited to this environment's groups.
        self.allocator.allow(["autoscaling:DescribeAutoScalingGroups"], ["*"])
        self.allocator.allow(
            ["autoscaling:SetDesiredCapacity"], [autoscaling_group_arn(self, env.asg_name("*"))]
        )
        suppress(
            self.allocator.role,
            "AwsSolutions-IAM5",
            "Group ARNs embed a random id, so they are matched by name: only this environment's node groups",
            [
                f"Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/{env.asg_name('*')}"
            ],
        )
        self.allocator.alarm_on_errors(self.alerts)

        # In the VPC: it calls each node's /status on its private address.
        self.instance_monitor = ControlPlaneFunction(
            self,
            "InstanceMonitor",
            env=env,
            service="instance_monitor",
            description="Marks silent or failing nodes unhealthy, their graphs unavailable, and alerts",
            environment={**control_plane_env, "VOLUME_MANAGER_FUNCTION": volume_manager_name},
            vpc=vpc,
            timeout=cdk.Duration.seconds(50),
        )
        # It also releases the volumes of terminated instances in the volume registry.
        self.instance_monitor.grant_tables(instances, graphs, self.registries.table(VOLUME_REGISTRY))
        self.alerts.grant_publish(self.instance_monitor.role)
        self.instance_monitor.allow(["ec2:DescribeInstances"], ["*"])
        # Failover of a dead node: its group replaces it, the volume manager force-detaches its data volume.
        self.instance_monitor.allow(
            ["autoscaling:SetInstanceHealth"], [autoscaling_group_arn(self, env.asg_name("*"))]
        )
        self.instance_monitor.allow(
            ["lambda:InvokeFunction"],
            [self.format_arn(service="lambda", resource="function", resource_name=volume_manager_name,
                             arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)],
        )
        suppress(
            self.instance_monitor.role,
            "AwsSolutions-IAM5",
            "Group ARNs embed a random id, so they are matched by name: only this environment's node groups",
            [
                f"Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/{env.asg_name('*')}"
            ],
        )
        self.instance_monitor.alarm_on_errors(self.alerts)
        events.Rule(
            self,
            "InstanceMonitorSchedule",
            description="Runs the instance monitor",
            schedule=events.Schedule.rate(INSTANCE_MONITOR_RATE),
            targets=[targets.LambdaFunction(self.instance_monitor.function, retry_attempts=0)],
        )
        # Terminations are handled at once rather than at the next heartbeat timeout.
        events.Rule(
            self,
            "InstanceTerminations",
            description="Sends EC2 terminations to the instance monitor",
            event_pattern=events.EventPattern(
                source=["aws.ec2"],
                detail_type=["EC2 Instance State-change Notification"],
                detail={"state": ["shutting-down", "terminated"]},
            ),
            targets=[targets.LambdaFunction(self.instance_monitor.function, retry_attempts=2)],
        )

        self.router = RouterApi(
            self, "Router", env=env, environment=control_plane_env, instances=instances, graphs=graphs,
            scale_out=self.scale_out, alerts=self.alerts,
        )

        cdk.CfnOutput(self, "AllocatorFunctionArn", value=self.allocator.function.function_arn)
        cdk.CfnOutput(self, "RouterUrl", value=self.router.url.url, description="GRAPH_ROUTER_URL")
        cdk.CfnOutput(self, "RouterClientPolicyArn", value=self.router.client_policy.managed_policy_arn)
        cdk.CfnOutput(self, "ApiKeySecretArn", value=self.api_key.secret.secret_arn)
        cdk.CfnOutput(self, "AlertTopicArn", value=self.alerts.topic_arn)
        cdk.CfnOutput(self, "BackupBucketName", value=self.backups.bucket.bucket_name)
        cdk.CfnOutput(self, "BackupSigningSecretArn", value=self.backups.signing_secret.secret_arn)
