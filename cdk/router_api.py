"""The router API on Lambda: FastAPI + Mangum behind a function URL with AuthType AWS_IAM.

Why a function URL, not an HTTP API: the API is small and internal (clients and nodes of this
account), IAM (SigV4) is all the authentication it needs, and a function URL verifies it at AWS's edge
at no extra cost or resource; the Lambda event is the same payload format 2.0, so moving to an HTTP API
later changes no code (clients sign for "execute-api" instead of "lambda").

Who may call it: principals whose identity policy allows lambda:InvokeFunctionUrl on the function
(the RouterClientPolicy managed policy grants exactly that, with the AWS_IAM auth-type condition);
the node roles get it too, for graph-cli on the nodes.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from cdk import router_layer
from cdk.control_plane import ARCHITECTURE, RUNTIME, ControlPlaneFunction
from cdk.environments import DeployEnvironment, autoscaling_group_arn
from cdk.nag import suppress


class RouterApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env: DeployEnvironment,
        environment: dict[str, str],
        instances: dynamodb.ITable,
        graphs: dynamodb.ITable,
        scale_out: sns.ITopic,
        alerts: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(router_layer.build())),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="FastAPI, Mangum and their pure-Python dependencies (cdk/router_layer.py)",
        )
        self.api = ControlPlaneFunction(
            self,
            "Function",
            env=env,
            service="router_api",
            description="Router API: where each graph lives, placement of new graphs (function URL, IAM auth)",
            environment={**environment, "ROUTER_AUTH_MODE": "edge"},
            timeout=cdk.Duration.seconds(30),
            memory_size=512,
            layers=[dependencies],
        )
        fn = self.api
        # Reads routes and places graphs through the allocator's conditional writes (both tables).
        fn.grant_tables(instances, graphs)
        scale_out.grant_publish(fn.role)
        fn.allow(["autoscaling:DescribeAutoScalingGroups"], ["*"])
        fn.allow(["autoscaling:SetDesiredCapacity"], [autoscaling_group_arn(stack, env.asg_name("*"))])
        suppress(
            fn.role,
            "AwsSolutions-IAM5",
            "Group ARNs embed a random id, so they are matched by name: only this environment's node groups",
            [
                f"Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/{env.asg_name('*')}"
            ],
        )
        self.url = fn.function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.AWS_IAM)
        fn.alarm_on_errors(alerts)
        fn.alarm_on_throttles(alerts)
        self.client_policy = iam.ManagedPolicy(
            self,
            "RouterClientPolicy",
            managed_policy_name=env.resource_name("router-client"),
            description="Call the graph cluster's router API (its function URL, SigV4)",
            statements=[
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunctionUrl"],
                    resources=[fn.function.function_arn],
                    conditions={"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
                )
            ],
        )
        # Where clients find it: GRAPH_ROUTER_URL in the node settings, this parameter, the stack output.
        self.parameter = ssm.StringParameter(
            self,
            "UrlParameter",
            parameter_name=f"/{env.resource_name()}/router-url",
            string_value=self.url.url,
            description="GRAPH_ROUTER_URL for graph clients",
        )

    def grant_invoke(self, role: iam.IRole) -> None:
        self.url.grant_invoke_url(role)
