"""What the deployed pieces must agree on, checked against the synthesized stacks: the namespaces the
node publishes to by default are the one its role may publish to (issue 16's deploy bug: a lowercase
default and a second volume namespace the role refused), and the user data points nodes at the router."""

from __future__ import annotations

import re

import pytest
from aws_cdk.assertions import Template

from cdk.environments import ENVIRONMENT_NAMES, get_environment
from contracts.metrics import metric_namespace
from node_api.cluster.settings import ClusterSettings
from node_api.core.cloudwatch_settings import CloudWatchSettings
from tests.cdk.support import ENV, policy_statements


def allowed_namespace(template: Template) -> str:
    [statement] = [s for s in policy_statements(template)["Nodes"] if s["Action"] == "cloudwatch:PutMetricData"]
    return statement["Condition"]["StringEquals"]["cloudwatch:namespace"]


def node_settings(template: Template) -> dict[str, str]:
    [launch_template] = template.find_resources("AWS::EC2::LaunchTemplate").values()
    parts = launch_template["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Join"][1]
    script = "".join(p if isinstance(p, str) else "<token>" for p in parts)
    return dict(re.findall(r"^([A-Z_0-9]+)=(.*)$", script.split("GRAPH_NODE_EOF")[1], re.M))


def test_the_nodes_default_namespaces_are_the_one_its_role_allows(synthesized, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = synthesized.stacks.nodes["standard"]
    template = synthesized.template(stack)
    settings = node_settings(template)
    # The node reads exactly its user data's settings file: no namespace is set there, defaults decide.
    assert not {"VOLUME_METRIC_NAMESPACE", "GRAPH_API_CLOUDWATCH_NAMESPACE"} & set(settings)
    for name in ("VOLUME_METRIC_NAMESPACE", "GRAPH_API_CLOUDWATCH_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENVIRONMENT", settings["ENVIRONMENT"])
    allowed = allowed_namespace(template)
    assert CloudWatchSettings().namespace_for(settings["ENVIRONMENT"]) == allowed  # the key metrics
    assert ClusterSettings().metric_namespace_name == allowed  # VolumeUsagePercent
    assert allowed == f"RoboSystemsKuzu/{ENV.capitalize()}"


@pytest.mark.parametrize("name", ENVIRONMENT_NAMES)
def test_every_environment_names_its_namespace_through_the_contract(name: str) -> None:
    assert get_environment(name).metric_namespace == metric_namespace(name) == f"RoboSystemsKuzu/{name.capitalize()}"


def test_nodes_get_the_router_url(synthesized) -> None:
    settings = node_settings(synthesized.template(synthesized.stacks.nodes["standard"]))
    assert settings["GRAPH_ROUTER_URL"] == "<token>"  # the function URL, resolved at deploy time
