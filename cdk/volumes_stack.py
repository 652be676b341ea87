"""Volumes stack (spec: kuzu-volumes): the volume manager (EBS create/attach/detach/restore for
nodes), the scheduled volume monitor (auto-expansion), the DLM snapshot policy, volume alerts.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dlm as dlm
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk.alerts import AlertTopic
from cdk.control_plane import ControlPlaneFunction
from cdk.environments import DeployEnvironment
from cdk.infrastructure_stack import InfrastructureStack
from cdk.nag import suppress
from contracts.registry import GRAPH_REGISTRY, IDEMPOTENCY, INSTANCE_REGISTRY, VOLUME_REGISTRY
from lambdas.volume_manager.service import COMPONENT_TAG

VOLUME_MONITOR_RATE = cdk.Duration.minutes(5)
SNAPSHOT_TIME_UTC = "03:00"
# Alarm well above the monitor's 80 % expansion threshold: reaching it means expansion is failing.
VOLUME_USAGE_ALARM_PERCENT = 90


# The tag the volume manager puts on every volume and snapshot: DLM and the IAM conditions select by it.
VOLUME_TAG: dict[str, str] = COMPONENT_TAG
# The same ARNs as cdk-nag prints them (for suppressions).
NAG_EC2_ARNS = (
    "arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:volume/*",
    "arn:<AWS::Partition>:ec2:<AWS::Region>::snapshot/*",
    "arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*",
)


class VolumesStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env: DeployEnvironment,
        infra: InfrastructureStack,
        alert_email: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, env=env.cdk_env, **kwargs)
        tag = VOLUME_TAG
        self.volume_alerts = AlertTopic(
            self,
            "VolumeAlerts",
            env=env,
            name="volume-alerts",
            display_name="Graph cluster volume alerts",
            encryption_key=infra.data_key,
            email=alert_email,
        ).topic
        registries = infra.registries
        common_env = {
            **registries.environment_for(VOLUME_REGISTRY, IDEMPOTENCY, INSTANCE_REGISTRY, GRAPH_REGISTRY),
            "VOLUME_ALERT_TOPIC_ARN": self.volume_alerts.topic_arn,
            "VOLUME_METRIC_NAMESPACE": env.metric_namespace,
            "SNAPSHOT_RETENTION_COUNT": str(env.snapshot_retention_count),
        }
        tagged = {"StringEquals": {f"aws:ResourceTag/{tag['Key']}": tag["Value"]}}
        volumes = self.format_arn(service="ec2", resource="volume", resource_name="*")
        snapshots = self.format_arn(service="ec2", resource="snapshot", resource_name="*", account="")
        instances = self.format_arn(service="ec2", resource="instance", resource_name="*")

        self.volume_manager = ControlPlaneFunction(
            self,
            "VolumeManager",
            env=env,
            service="volume_manager",
            description="Creates, restores, snapshots, attaches and detaches graph data volumes",
            environment=common_env,
            timeout=cdk.Duration.minutes(5),
        )
        manager = self.volume_manager
        # Adoption (failover) moves a dead node's graph rows and counts them on the adopter's row.
        manager.grant_tables(
            registries.table(VOLUME_REGISTRY), registries.table(IDEMPOTENCY),
            registries.table(INSTANCE_REGISTRY), registries.table(GRAPH_REGISTRY),
        )
        manager.allow(["ec2:DescribeVolumes", "ec2:DescribeSnapshots", "ec2:DescribeInstances"], ["*"])
        # New volumes and snapshots must carry the volume tag; everything that changes one needs it already.
        manager.allow(
            ["ec2:CreateVolume"], [volumes], {"StringEquals": {f"aws:RequestTag/{tag['Key']}": tag["Value"]}}
        )
        manager.allow(["ec2:CreateVolume"], [snapshots], tagged)  # restoring names its source snapshot
        manager.allow(
            ["ec2:CreateTags"],
            [volumes, snapshots],
            {"StringEquals": {"ec2:CreateAction": ["CreateVolume", "CreateSnapshot"]}},
        )
        manager.allow(["ec2:AttachVolume", "ec2:DetachVolume", "ec2:CreateSnapshot"], [volumes], tagged)
        manager.allow(["ec2:CreateSnapshot", "ec2:DeleteSnapshot"], [snapshots], tagged)
        # The instance side of attach/detach: only instances of this environment's node groups.
        manager.allow(
            ["ec2:AttachVolume", "ec2:DetachVolume"],
            [instances],
            {"StringLike": {"aws:ResourceTag/aws:autoscaling:groupName": env.asg_name("*")}},
        )
        manager.alarm_on_errors(self.volume_alerts)
        suppress(
            manager.role,
            "AwsSolutions-IAM5",
            "Volume, snapshot and instance ids are not known at deploy time: changes require the volume "
            f"tag {tag['Key']}={tag['Value']} (new volumes and snapshots must carry it), and instances must "
            "belong to this environment's node groups",
            [f"Resource::{arn}" for arn in NAG_EC2_ARNS],
        )

        self.volume_monitor = ControlPlaneFunction(
            self,
            "VolumeMonitor",
            env=env,
            service="volume_monitor",
            description="Expands data volumes past the usage threshold and alerts on failures",
            environment=common_env,
            timeout=cdk.Duration.minutes(2),
        )
        monitor = self.volume_monitor
        monitor.grant_tables(registries.table(VOLUME_REGISTRY))
        self.volume_alerts.grant_publish(monitor.role)
        monitor.allow(["cloudwatch:GetMetricStatistics"], ["*"])
        monitor.allow(["ec2:ModifyVolume"], [volumes], tagged)
        monitor.alarm_on_errors(self.volume_alerts)
        suppress(
            monitor.role,
            "AwsSolutions-IAM5",
            f"ModifyVolume is limited by condition to volumes tagged {tag['Key']}={tag['Value']}",
            [f"Resource::{NAG_EC2_ARNS[0]}"],
        )
        events.Rule(
            self,
            "VolumeMonitorSchedule",
            description="Runs the volume monitor",
            schedule=events.Schedule.rate(VOLUME_MONITOR_RATE),
            targets=[targets.LambdaFunction(monitor.function, retry_attempts=0)],
        )

        self.snapshot_policy = self._snapshot_policy(env, tag)
        self._usage_alarm(env)

    def _snapshot_policy(self, env: DeployEnvironment, tag: dict[str, str]) -> dlm.CfnLifecyclePolicy:
        role = iam.Role(
            self,
            "SnapshotRole",
            assumed_by=iam.ServicePrincipal("dlm.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AWSDataLifecycleManagerServiceRole"
                )
            ],
        )
        suppress(
            role,
            "AwsSolutions-IAM4",
            "AWSDataLifecycleManagerServiceRole is the service role AWS documents for DLM snapshot policies",
            ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"],
        )
        return dlm.CfnLifecyclePolicy(
            self,
            "SnapshotPolicy",
            description=f"Daily snapshots of {env.name} graph data volumes",
            state="ENABLED",
            execution_role_arn=role.role_arn,
            policy_details=dlm.CfnLifecyclePolicy.PolicyDetailsProperty(
                policy_type="EBS_SNAPSHOT_MANAGEMENT",
                resource_types=["VOLUME"],
                target_tags=[cdk.CfnTag(key=tag["Key"], value=tag["Value"])],
                schedules=[
                    dlm.CfnLifecyclePolicy.ScheduleProperty(
                        name="daily",
                        copy_tags=True,
                        create_rule=dlm.CfnLifecyclePolicy.CreateRuleProperty(
                            interval=24, interval_unit="HOURS", times=[SNAPSHOT_TIME_UTC]
                        ),
                        retain_rule=dlm.CfnLifecyclePolicy.RetainRuleProperty(
                            count=env.snapshot_retention_count
                        ),
                    )
                ],
            ),
        )

    def _usage_alarm(self, env: DeployEnvironment) -> None:
        # A Metrics Insights query covers every node's volume without one alarm per instance.
        alarm = cloudwatch.CfnAlarm(
            self,
            "VolumeUsageAlarm",
            alarm_description=f"A data volume is above {VOLUME_USAGE_ALARM_PERCENT}% (expansion not keeping up)",
            comparison_operator="GreaterThanThreshold",
            threshold=VOLUME_USAGE_ALARM_PERCENT,
            evaluation_periods=2,
            treat_missing_data="notBreaching",
            metrics=[
                cloudwatch.CfnAlarm.MetricDataQueryProperty(
                    id="usage",
                    expression=f'SELECT MAX(VolumeUsagePercent) FROM "{env.metric_namespace}"',
                    period=300,
                    return_data=True,
                )
            ],
            alarm_actions=[self.volume_alerts.topic_arn],
        )
        alarm.node.add_dependency(self.volume_alerts)
