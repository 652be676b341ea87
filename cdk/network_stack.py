"""The environment's VPC: nodes and VPC-attached Lambdas live in private subnets behind NAT.

Created here (not looked up) so `cdk synth` needs no AWS account; flow logs record rejected and
accepted traffic for audits.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk.environments import DeployEnvironment

MAX_AZS = 2


class NetworkStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, env: DeployEnvironment, **kwargs) -> None:
        super().__init__(scope, construct_id, env=env.cdk_env, **kwargs)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            vpc_name=env.resource_name("vpc"),
            ip_addresses=ec2.IpAddresses.cidr(env.vpc_cidr),
            max_azs=MAX_AZS,
            nat_gateways=env.nat_gateways,
            subnet_configuration=[
                # Public subnets only hold the NAT gateways; nothing else is placed there.
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20
                ),
            ],
            # Nothing uses the default security group; restricting it would add a custom-resource Lambda.
            restrict_default_security_group=False,
            gateway_endpoints={
                # Registry and asset traffic stays on the AWS network (and off the NAT bill).
                "DynamoDb": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB),
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
            },
        )
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            log_group_name=env.log_group_name("vpc-flow-logs"),
            retention=env.log_retention,
            removal_policy=env.removal_policy,
        )
        self.vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))
