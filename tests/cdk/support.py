"""Shared by the CDK tests: the synthesized app and template readers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from cdk.assembly import GraphClusterStacks
from cdk.source import REPO_ROOT

ENV = "prod"


def cdk_json_context() -> dict:
    """The same context (feature flags) the CLI reads from cdk.json."""
    return json.loads((REPO_ROOT / "cdk.json").read_text())["context"]


@dataclass
class Synthesized:
    stacks: GraphClusterStacks
    outdir: Path

    def template(self, stack: cdk.Stack) -> Template:
        return Template.from_stack(stack)

    def template_json(self, stack: cdk.Stack) -> dict:
        return json.loads((self.outdir / stack.template_file).read_text())


def find_resources(template: Template, resource_type: str, logical_prefix: str) -> str:
    """The one logical id of `resource_type` starting with `logical_prefix`."""
    ids = [i for i in template.find_resources(resource_type) if i.startswith(logical_prefix)]
    assert len(ids) == 1, ids
    return ids[0]


def kms_key_ref(template: Template) -> dict[str, Any]:
    """`{"Fn::GetAtt": [<data key>, "Arn"]}` of the environment's customer-managed key."""
    key = find_resources(template, "AWS::KMS::Key", "DataKey")
    return {"Fn::GetAtt": [key, "Arn"]}


def policy_statements(template: Template) -> dict[str, list[dict[str, Any]]]:
    """Inline policy statements by the owning construct's logical-id prefix ("Allocator", "Nodes")."""
    out: dict[str, list[dict[str, Any]]] = {}
    for logical_id, policy in template.find_resources("AWS::IAM::Policy").items():
        owner = logical_id.split("Role")[0]
        out.setdefault(owner, []).extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return out
