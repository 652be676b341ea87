"""One in-process synth of the whole production app (every tier, Neo4j on, cdk-nag on) per session:
each stack is synthesized once and shared by every test module."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from cdk_test_support import ENV, Synthesized, cdk_json_context

from cdk.assembly import GraphClusterStacks, build_app


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("cdk-out")
    app = cdk.App(context={**cdk_json_context(), "env": ENV, "neo4j": "true"}, outdir=str(outdir))
    stacks = build_app(app)
    app.synth()  # fails here if cdk-nag reports an unsuppressed finding (error annotation)
    return Synthesized(stacks=stacks, outdir=outdir)


@pytest.fixture(scope="session")
def stacks(synthesized: Synthesized) -> GraphClusterStacks:
    return synthesized.stacks


@pytest.fixture(scope="session")
def infra_template(synthesized: Synthesized) -> Template:
    return synthesized.template(synthesized.stacks.infrastructure)


@pytest.fixture(scope="session")
def volumes_template(synthesized: Synthesized) -> Template:
    return synthesized.template(synthesized.stacks.volumes)
