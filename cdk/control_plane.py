"""One control-plane Lambda: the shared `lambdas` asset, the Powertools layer, its own log group and role.

Every function gets a dedicated role that starts with nothing but write access to its own log group;
the stack that creates it adds exactly the calls its handler makes.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk.environments import DeployEnvironment
from cdk.nag import suppress, suppress_table_grant, suppress_unscoped_actions
from cdk.source import LAMBDA_EXCLUDES, LAMBDA_PACKAGE, REPO_ROOT

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
# Public Powertools for AWS Lambda (Python) v3 layer, published by AWS in every commercial region.
POWERTOOLS_ACCOUNT = "017000801446"
POWERTOOLS_LAYER = "AWSLambdaPowertoolsPythonV3-python312-arm64"
DEFAULT_POWERTOOLS_LAYER_VERSION = 27
VPC_ENI_ACTIONS = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
]


def powertools_layer_arn(stack: cdk.Stack, version: int) -> str:
    # Stack.region is a token in environment-agnostic stacks, so the ARN resolves at deploy time.
    return (
        f"arn:{stack.partition}:lambda:{stack.region}:{POWERTOOLS_ACCOUNT}:layer:{POWERTOOLS_LAYER}:{version}"
    )


def _code() -> lambda_.Code:
    return lambda_.Code.from_asset(str(REPO_ROOT), exclude=LAMBDA_EXCLUDES)


class ControlPlaneFunction(Construct):
    """`lambdas/<service>/handler.py:handler` deployed as `<prefix>-<service>`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env: DeployEnvironment,
        service: str,
        description: str,
        environment: dict[str, str],
        timeout: cdk.Duration = cdk.Duration.seconds(60),
        memory_size: int = 256,
        vpc: ec2.IVpc | None = None,
        layers: list[lambda_.ILayerVersion] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        name = env.resource_name(service.replace("_", "-"))
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{name}",
            retention=env.log_retention,
            removal_policy=env.removal_policy,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{name}: only the calls its handler makes",
        )
        # Instead of the AWSLambdaBasicExecutionRole managed policy (which allows any log group).
        self.log_group.grant_write(self.role)
        layer_version = int(
            stack.node.try_get_context("powertools_layer_version") or DEFAULT_POWERTOOLS_LAYER_VERSION
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=name,
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=f"{LAMBDA_PACKAGE}.{service}.handler.handler",
            code=_code(),
            layers=[
                lambda_.LayerVersion.from_layer_version_arn(
                    self, "Powertools", powertools_layer_arn(stack, layer_version)
                ),
                *(layers or []),
            ],
            role=self.role,
            log_group=self.log_group,
            timeout=timeout,
            memory_size=memory_size,
            # Only functions that call node APIs (private IPs) run inside the VPC.
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS) if vpc else None,
            environment={
                "ENVIRONMENT": env.name,
                "POWERTOOLS_SERVICE_NAME": service,
                "POWERTOOLS_METRICS_NAMESPACE": env.metric_namespace,
                "LOG_LEVEL": "INFO",
                **environment,
            },
        )
        # The role must exist (with its log permissions) before the function can log its first line.
        self.function.node.add_dependency(self.role)
        if vpc is not None:
            # Lambda's network interfaces in the VPC (instead of AWSLambdaVPCAccessExecutionRole).
            self.allow(VPC_ENI_ACTIONS, ["*"])
        suppress(
            self.function,
            "AwsSolutions-L1",
            "Pinned to Python 3.12: the runtime the Powertools layer (python312) is built for and the handlers are tested on",
        )

    def allow(self, actions: list[str], resources: list[str], conditions: dict | None = None) -> None:
        """Adds one least-privilege statement to this function's role."""
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=actions, resources=resources, conditions=conditions)
        )
        if resources == ["*"]:
            suppress_unscoped_actions(self.role, actions)

    def grant_tables(self, *tables: dynamodb.ITable) -> None:
        """Read/write items of the given registry tables (and their indexes) and use their key."""
        for table in tables:
            table.grant_read_write_data(self.role)
        suppress_table_grant(self.role)

    def alarm_on_errors(self, topic: sns.ITopic) -> cloudwatch.Alarm:
        """Any failed invocation in five minutes pages the given alert topic."""
        alarm = cloudwatch.Alarm(
            self,
            "ErrorsAlarm",
            alarm_description=f"{self.function.function_name} failed",
            metric=self.function.metric_errors(period=cdk.Duration.minutes(5)),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
        return alarm

    def alarm_on_throttles(self, topic: sns.ITopic) -> cloudwatch.Alarm:
        """Any throttled invocation in five minutes (concurrency exhausted) pages the given alert topic."""
        alarm = cloudwatch.Alarm(
            self,
            "ThrottlesAlarm",
            alarm_description=f"{self.function.function_name} throttled",
            metric=self.function.metric_throttles(period=cdk.Duration.minutes(5)),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
        return alarm
