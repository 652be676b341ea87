"""Writer tiers and the shared master: one autoscaling group per tier, hardened launch template, user
data that registers the node, attaches its volume and starts the node API; lifecycle hooks; network."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from aws_cdk.assertions import Match, Template

from cdk.environments import API_PORT, NEO4J_API_PORT, NEO4J_BOLT_PORT
from cdk.node_group import LAUNCH_HOOK, TERMINATE_HOOK
from cdk.tiers import load_tiers
from cdk.user_data import KUZU_NODE, NEO4J_NODE, NODE_FILES
from tests.cdk.support import Synthesized, policy_statements

PROD_TIERS = {t.name: t for t in load_tiers("prod")}
VPC_CIDR = "10.10.0.0/16"
CROSS_STACK = r"Fn::(ImportValue|GetStackOutput)"


@pytest.fixture(scope="module")
def node_templates(synthesized: Synthesized) -> dict[str, Template]:
    return {name: synthesized.template(stack) for name, stack in synthesized.stacks.nodes.items()}


def user_data(template: Template) -> str:
    """The rendered user data with CloudFormation references shown as <LogicalId>."""
    (launch_template,) = template.find_resources("AWS::EC2::LaunchTemplate").values()
    joined = launch_template["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]
    parts = joined["Fn::Join"][1] if isinstance(joined, dict) else [joined]
    return "".join(p if isinstance(p, str) else f"<{json.dumps(p)}>" for p in parts)


def test_one_stack_and_group_per_tier(stacks, node_templates: dict[str, Template]) -> None:
    assert set(node_templates) == set(PROD_TIERS)
    assert stacks.nodes["shared"].stack_name == "graph-cluster-prod-shared-master"
    assert stacks.nodes["standard"].stack_name == "graph-cluster-prod-writers-standard"
    for name, template in node_templates.items():
        tier = PROD_TIERS[name]
        template.resource_count_is("AWS::AutoScaling::AutoScalingGroup", 1)
        template.has_resource_properties(
            "AWS::AutoScaling::AutoScalingGroup",
            {
                "AutoScalingGroupName": f"graph-cluster-prod-writers-{name}",
                "MinSize": str(tier.min_capacity),
                "MaxSize": str(tier.max_capacity),
                "NotificationConfigurations": [Match.object_like({"TopicARN": Match.any_value()})],
            },
        )
        template.has_resource_properties(
            "AWS::EC2::LaunchTemplate",
            {
                "LaunchTemplateData": Match.object_like(
                    {
                        "InstanceType": tier.instance_type,
                        "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
                        "Monitoring": {"Enabled": True},
                        "BlockDeviceMappings": [
                            Match.object_like(
                                {"Ebs": Match.object_like({"Encrypted": True, "VolumeType": "gp3"})}
                            )
                        ],
                        # Graviton tiers get the arm64 Amazon Linux 2023 image, resolved from SSM at deploy time.
                        "ImageId": {
                            "Ref": Match.string_like_regexp("al2023amiminimum|al2023.*arm64|SsmParameter")
                        },
                    }
                )
            },
        )


def test_groups_live_in_private_subnets(
    node_templates: dict[str, Template], synthesized: Synthesized
) -> None:
    network = synthesized.template_json(synthesized.stacks.network)
    private = {
        k for k, v in network["Resources"].items() if v["Type"] == "AWS::EC2::Subnet" and "private" in k
    }
    asg = next(iter(node_templates["standard"].find_resources("AWS::AutoScaling::AutoScalingGroup").values()))
    imported = {json.dumps(s) for s in asg["Properties"]["VPCZoneIdentifier"]}
    assert len(imported) == len(private) == 2
    assert all("privateSubnet" in s for s in imported)


@pytest.mark.parametrize("tier", sorted(PROD_TIERS))
def test_security_group_opens_only_the_api_port_to_the_vpc(
    node_templates: dict[str, Template], tier: str
) -> None:
    (group,) = node_templates[tier].find_resources("AWS::EC2::SecurityGroup").values()
    assert group["Properties"]["SecurityGroupIngress"] == [
        {
            "CidrIp": VPC_CIDR,
            "Description": "node API from the VPC",
            "FromPort": API_PORT,
            "IpProtocol": "tcp",
            "ToPort": API_PORT,
        }
    ]


def test_lifecycle_hooks(node_templates: dict[str, Template]) -> None:
    template = node_templates["standard"]
    template.has_resource_properties(
        "AWS::AutoScaling::LifecycleHook",
        {
            "LifecycleHookName": LAUNCH_HOOK,
            "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING",
            "DefaultResult": "ABANDON",
        },
    )
    template.has_resource_properties(
        "AWS::AutoScaling::LifecycleHook",
        {
            "LifecycleHookName": TERMINATE_HOOK,
            "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
            "DefaultResult": "CONTINUE",
        },
    )


def test_user_data_configures_registers_attaches_and_starts(node_templates: dict[str, Template]) -> None:
    script = user_data(node_templates["standard"])
    settings = dict(re.findall(r"^([A-Z_0-9]+)=(.*)$", script.split("GRAPH_NODE_EOF")[1], re.M))
    assert settings["KUZU_NODE_TYPE"] == "writer" and settings["WRITER_TIER"] == "standard"
    assert settings["KUZU_MAX_DATABASES_PER_NODE"] == "10" and settings["KUZU_MEMORY_PER_DB_MB"] == "2048"
    assert settings["KUZU_PORT"] == str(API_PORT) and settings["KUZU_DATABASE_PATH"] == "/data/kuzu-dbs"
    assert settings["ASG_NAME"] == "graph-cluster-prod-writers-standard"
    assert "VOLUME_METRIC_NAMESPACE" not in settings  # the contract's default (tests/cdk/test_contracts.py)
    assert settings["CLUSTER_REGISTRATION_ENABLED"] == "true"
    for reference in ("GRAPH_API_KEY_SECRET_ID", "INSTANCE_REGISTRY_TABLE", "VOLUME_MANAGER_FUNCTION"):
        assert re.search(CROSS_STACK, settings[reference]), reference
    for name in KUZU_NODE.scripts:
        assert (NODE_FILES / name).read_text().strip() in script, name
    assert "aws dynamodb put-item" in script  # 1. register
    assert '"create"' in script and '"attach"' in script  # 2. volume via the volume manager
    assert "python -m node_api --base-path ${KUZU_DATABASE_PATH} --node-type ${KUZU_NODE_TYPE}" in script
    assert "systemctl enable --now graph-node.service" in script  # 3. systemd, no Docker
    assert "docker run" not in script and "dnf install -y -q docker" not in script
    assert "complete-lifecycle-action" in script  # 4. lifecycle
    assert script.rstrip().endswith("/opt/graph-node/bin/bootstrap.sh")
    assert len(script.encode()) < 16 * 1024  # EC2's user data limit
    shared = user_data(node_templates["shared"])
    assert "KUZU_NODE_TYPE=shared_master" in shared and "KUZU_MAX_DATABASES_PER_NODE=" not in shared


def test_node_scripts_are_valid_bash() -> None:
    for name in {*KUZU_NODE.scripts, *NEO4J_NODE.scripts}:
        result = subprocess.run(["bash", "-n", str(NODE_FILES / name)], capture_output=True, text=True)
        assert result.returncode == 0, (name, result.stderr)


def test_node_role_is_scoped(node_templates: dict[str, Template]) -> None:
    statements = policy_statements(node_templates["standard"])["Nodes"]
    by_action = {
        a: s for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert "dynamodb:PutItem" in by_action and "dynamodb:Scan" not in by_action
    # Resources of other stacks arrive as cross-stack references, never as wildcards.
    assert re.search(CROSS_STACK, json.dumps(by_action["dynamodb:PutItem"]["Resource"]))
    assert re.search(CROSS_STACK, json.dumps(by_action["lambda:InvokeFunction"]["Resource"]))
    assert "graph-cluster-prod-writers-standard" in json.dumps(
        by_action["autoscaling:CompleteLifecycleAction"]
    )
    assert by_action["cloudwatch:PutMetricData"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "RoboSystemsKuzu/Prod"}
    }
    assert by_action["kms:Decrypt"]["Condition"]["StringEquals"]["kms:ViaService"]
    # The bundle is one object; the backups (tests/cdk/test_backups.py) are their prefix.
    (bundle,) = [s for s in statements if s["Action"] == "s3:GetObject"]
    assert "*" not in json.dumps(bundle["Resource"])
    for statement in statements:
        if statement["Resource"] == "*":
            assert statement["Action"] == "cloudwatch:PutMetricData"


def test_network_has_private_subnets_nat_and_flow_logs(synthesized: Synthesized) -> None:
    template = synthesized.template(synthesized.stacks.network)
    template.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": VPC_CIDR})
    template.resource_count_is("AWS::EC2::NatGateway", 2)
    template.resource_count_is("AWS::EC2::FlowLog", 1)
    template.has_resource_properties("AWS::EC2::Subnet", {"MapPublicIpOnLaunch": False})


def test_neo4j_stack_is_behind_the_flag(synthesized: Synthesized) -> None:
    neo4j = synthesized.stacks.neo4j
    assert neo4j is not None
    template = synthesized.template(neo4j)
    (group,) = template.find_resources("AWS::EC2::SecurityGroup").values()
    ports = {(r["FromPort"], r["CidrIp"]) for r in group["Properties"]["SecurityGroupIngress"]}
    assert ports == {(NEO4J_API_PORT, VPC_CIDR), (NEO4J_BOLT_PORT, VPC_CIDR)}
    template.has_resource_properties("AWS::SecretsManager::Secret", {"KmsKeyId": Match.any_value()})
    assert "GRAPH_BACKEND_TYPE=neo4j_community" in user_data(template)
