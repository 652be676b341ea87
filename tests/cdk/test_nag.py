"""cdk-nag's AwsSolutions pack runs on every stack (the session synth fails on any unsuppressed finding);
every suppression carries a reason."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Annotations, Match

from tests.cdk.support import Synthesized


def test_no_unsuppressed_findings(synthesized: Synthesized) -> None:
    for stack in synthesized.stacks.all():
        for finder in (Annotations.from_stack(stack).find_error, Annotations.from_stack(stack).find_warning):
            findings = finder("*", Match.string_like_regexp("AwsSolutions-"))
            assert findings == [], (stack.stack_name, [f.entry.data for f in findings])


def test_nag_ran(synthesized: Synthesized) -> None:
    reports = sorted(p.name for p in synthesized.outdir.glob("AwsSolutions-*-NagReport.csv"))
    assert len(reports) == len(synthesized.stacks.all())


def test_every_suppression_has_a_reason(synthesized: Synthesized) -> None:
    suppressions = [
        rule
        for stack in synthesized.stacks.all()
        for resource in synthesized.template_json(stack)["Resources"].values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert suppressions
    for rule in suppressions:
        assert rule["id"].startswith("AwsSolutions-")
        assert len(rule["reason"]) >= 40, rule


@pytest.mark.parametrize("rule", ["AwsSolutions-IAM5", "AwsSolutions-IAM4"])
def test_iam_suppressions_name_what_they_allow(synthesized: Synthesized, rule: str) -> None:
    """No blanket IAM suppression: each lists the exact findings (appliesTo) it accepts."""
    for stack in synthesized.stacks.all():
        for resource in synthesized.template_json(stack)["Resources"].values():
            for suppression in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
                if suppression["id"] == rule:
                    assert suppression.get("applies_to"), suppression
