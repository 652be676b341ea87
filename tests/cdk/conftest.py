"""One in-process synth of the whole production app (every tier, Neo4j on, cdk-nag on) per session:
each stack is synthesized once and shared by every test module."""

from __future__ import annotations

import shutil
import subprocess

from cdk.nodejs import pinned_node, use_pinned_node
from cdk.source import REPO_ROOT

# jsii starts its Node.js when aws_cdk is imported: the pinned LTS (package.json), installed here if
# npm can, else the machine's `node` (an end-of-life one prints a banner to stderr).
if pinned_node() is None and shutil.which("npm"):
    subprocess.run([str(REPO_ROOT / "scripts" / "bootstrap-cdk")], cwd=REPO_ROOT, check=False, timeout=300)
use_pinned_node()

import aws_cdk as cdk  # noqa: E402
import pytest  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from cdk.assembly import GraphClusterStacks, build_app  # noqa: E402
from tests.cdk.support import ENV, Synthesized, cdk_json_context  # noqa: E402


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
