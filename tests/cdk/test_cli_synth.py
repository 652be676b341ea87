"""The real CDK CLI (pinned in package.json, installed by scripts/bootstrap-cdk) synthesizes the
staging app offline: no credentials, no notices, no telemetry, no version check, every AWS endpoint
pointed at a closed loopback port."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from cdk.source import REPO_ROOT

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="Node.js and npm are needed to install and run the CDK CLI (scripts/bootstrap-cdk)",
)

STAGING_STACKS = {
    "graph-cluster-staging-network",
    "graph-cluster-staging-infra",
    "graph-cluster-staging-volumes",
    "graph-cluster-staging-writers-standard",
    "graph-cluster-staging-shared-master",
}


def offline_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env.update(
        HOME=str(home),  # no ~/.aws, no ~/.cdk cache of a developer
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        CDK_DISABLE_CLI_TELEMETRY="true",
        CDK_DISABLE_VERSION_CHECK="1",
        JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1",
    )
    return env


def test_cli_synth_staging(tmp_path: Path) -> None:
    subprocess.run([str(REPO_ROOT / "scripts" / "bootstrap-cdk")], cwd=REPO_ROOT, check=True, timeout=300)
    cli = REPO_ROOT / "node_modules" / ".bin" / "cdk"
    version = subprocess.run(
        [str(cli), "--version"], capture_output=True, text=True, env=offline_env(tmp_path)
    )
    assert version.stdout.startswith("2."), version.stdout
    out = tmp_path / "cdk.out"
    result = subprocess.run(
        [str(cli), "synth", "--no-notices", "--quiet", "-c", "env=staging", "-o", str(out)],
        cwd=REPO_ROOT,
        env=offline_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    manifest = json.loads((out / "manifest.json").read_text())
    stacks = {k for k, v in manifest["artifacts"].items() if v["type"] == "aws:cloudformation:stack"}
    assert stacks == STAGING_STACKS
    writers = json.loads((out / "graph-cluster-staging-writers-standard.template.json").read_text())
    (group,) = [r for r in writers["Resources"].values() if r["Type"] == "AWS::AutoScaling::AutoScalingGroup"]
    assert (group["Properties"]["MinSize"], group["Properties"]["MaxSize"]) == ("1", "5")
