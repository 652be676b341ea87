"""Assembles every stack of one environment into a CDK app, with their deploy order as dependencies.

    network -> infrastructure -> volumes -> writers-<tier> (parallel), shared-master [-> neo4j]

Context: env=prod|staging|dev, account/region (optional), neo4j=true, alert_email=..., nag=false
(cdk-nag's AwsSolutions checks run by default), powertools_layer_version=N.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from cdk.environments import DeployEnvironment, context_flag, environment_from_context
from cdk.infrastructure_stack import InfrastructureStack
from cdk.neo4j_stack import Neo4jStack
from cdk.network_stack import NetworkStack
from cdk.node_group import NodeDependencies
from cdk.node_stack import NodeStack, node_stack_name
from cdk.tiers import TIERS_FILE, load_tiers
from cdk.volumes_stack import VolumesStack


@dataclass
class GraphClusterStacks:
    env: DeployEnvironment
    network: NetworkStack
    infrastructure: InfrastructureStack
    volumes: VolumesStack
    nodes: dict[str, NodeStack] = field(default_factory=dict)  # by tier name
    neo4j: Neo4jStack | None = None

    def all(self) -> list[cdk.Stack]:
        extra = [self.neo4j] if self.neo4j else []
        return [self.network, self.infrastructure, self.volumes, *self.nodes.values(), *extra]


def build_app(app: cdk.App) -> GraphClusterStacks:
    node = app.node
    env = environment_from_context(node)
    alert_email = node.try_get_context("alert_email") or None
    tiers_file = node.try_get_context("tiers_file") or TIERS_FILE

    network = NetworkStack(app, env.resource_name("network"), env=env, description="Graph cluster VPC")
    infra = InfrastructureStack(
        app,
        env.resource_name("infra"),
        env=env,
        vpc=network.vpc,
        alert_email=alert_email,
        description="Graph cluster registries, API key, alerts, allocator and instance monitor",
    )
    volumes = VolumesStack(
        app,
        env.resource_name("volumes"),
        env=env,
        infra=infra,
        alert_email=alert_email,
        description="Graph cluster volume manager, volume monitor and snapshots",
    )
    stacks = GraphClusterStacks(env=env, network=network, infrastructure=infra, volumes=volumes)
    deps = NodeDependencies(
        vpc=network.vpc,
        instance_registry=infra.registries.tables["instance-registry"],
        api_key_secret=infra.api_key.secret,
        data_key=infra.data_key,
        volume_manager=volumes.volume_manager.function,
        alerts=infra.alerts,
        router_url=infra.router.url,
        backups=infra.backups,
    )
    for tier in load_tiers(env.name, tiers_file):
        stacks.nodes[tier.name] = NodeStack(
            app,
            node_stack_name(env, tier),
            env=env,
            tier=tier,
            deps=deps,
            description=f"Graph cluster {tier.component} ({tier.instance_type}, {tier.min_capacity}-{tier.max_capacity})",
        )
    if context_flag(node, "neo4j"):
        stacks.neo4j = Neo4jStack(
            app,
            env.resource_name("neo4j"),
            env=env,
            vpc=network.vpc,
            api_key_secret=infra.api_key.secret,
            encryption_key=infra.data_key,
            alerts=infra.alerts,
            backups=infra.backups,
            description="Graph cluster Neo4j Community node",
        )
    if node.try_get_context("nag") is None or context_flag(node, "nag"):
        cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    for stack in stacks.all():
        cdk.Tags.of(stack).add("Project", "graph-cluster")
        cdk.Tags.of(stack).add("Environment", env.name)
    return stacks
