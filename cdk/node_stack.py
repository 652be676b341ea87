"""One stack per node tier (spec: kuzu-writers, deployed in parallel; the shared master likewise),
so a tier can be changed, scaled or replaced without touching the others."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from cdk.environments import DeployEnvironment
from cdk.node_group import NodeDependencies, NodeGroup
from cdk.tiers import Tier
from contracts.enums import NodeType


def node_stack_name(env: DeployEnvironment, tier: Tier) -> str:
    if tier.node_type is NodeType.SHARED_MASTER:
        return env.resource_name("shared-master")
    return env.resource_name("writers", tier.name)


class NodeStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env: DeployEnvironment,
        tier: Tier,
        deps: NodeDependencies,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, env=env.cdk_env, **kwargs)
        self.tier = tier
        self.nodes = NodeGroup(self, "Nodes", env=env, tier=tier, deps=deps)
        cdk.CfnOutput(self, "AutoScalingGroupName", value=self.nodes.asg.auto_scaling_group_name)
