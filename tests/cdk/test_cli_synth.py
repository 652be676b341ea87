"""The real CDK CLI (pinned in package.json, installed by scripts/bootstrap-cdk) synthesizes the
staging app offline: no credentials, no notices, no telemetry, no version check, every AWS endpoint
pointed at a closed loopback port; on the Node.js LTS pinned beside it, so stderr carries no
end-of-life banner. `python app.py` does the same in-process and says where it wrote."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cdk.nodejs import PINNED_NODE
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
    # No JSII_NODE either: app.py must find the pinned Node.js itself.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_", "JSII_NODE"))}
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


@pytest.fixture(scope="module")
def installed() -> None:
    subprocess.run([str(REPO_ROOT / "scripts" / "bootstrap-cdk")], cwd=REPO_ROOT, check=True, timeout=300)


def test_the_cli_runs_on_the_pinned_lts(installed: None, tmp_path: Path) -> None:
    pinned = json.loads((REPO_ROOT / "package.json").read_text())["devDependencies"]["node"]
    assert int(pinned.split(".")[0]) % 2 == 0, "an even Node.js major: the LTS line"
    used = subprocess.run(["npx", "node", "--version"], cwd=REPO_ROOT, env=offline_env(tmp_path),
                          capture_output=True, text=True, check=True)
    assert used.stdout.strip() == f"v{pinned}"
    assert subprocess.run([str(PINNED_NODE), "--version"], capture_output=True, text=True).stdout.strip() == f"v{pinned}"
    version = subprocess.run(["npx", "cdk", "--version"], cwd=REPO_ROOT, capture_output=True, text=True,
                             env=offline_env(tmp_path))
    assert version.stdout.startswith("2."), version.stdout
    assert version.stderr == ""


def test_cli_synth_staging(installed: None, tmp_path: Path) -> None:
    out = tmp_path / "cdk.out"
    result = subprocess.run(
        ["npx", "cdk", "synth", "--no-notices", "--quiet", "-c", "env=staging", "-o", str(out)],
        cwd=REPO_ROOT,
        env=offline_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    # The CLI's own two lines, nothing else: no end-of-life banner (jsii's, as b'...' lines), no npm notice.
    noise = [line for line in result.stderr.splitlines()
             if not line.startswith(("Successfully synthesized to ", "Supply a stack id "))]
    assert noise == []
    manifest = json.loads((out / "manifest.json").read_text())
    stacks = {k for k, v in manifest["artifacts"].items() if v["type"] == "aws:cloudformation:stack"}
    assert stacks == STAGING_STACKS
    writers = json.loads((out / "graph-cluster-staging-writers-standard.template.json").read_text())
    (group,) = [r for r in writers["Resources"].values() if r["Type"] == "AWS::AutoScaling::AutoScalingGroup"]
    assert (group["Properties"]["MinSize"], group["Properties"]["MaxSize"]) == ("1", "5")


def test_python_app_says_where_it_wrote(installed: None, tmp_path: Path) -> None:
    env = {**offline_env(tmp_path), "CDK_CONTEXT_JSON": json.dumps({"env": "staging"})}
    result = subprocess.run([sys.executable, str(REPO_ROOT / "app.py")], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stderr == ""  # jsii on the pinned Node.js: no banner
    lines = result.stdout.splitlines()
    assert lines[0] == f"wrote {len(STAGING_STACKS)} stack templates to {tmp_path / 'cdk.out'}:"
    written = {Path(line.strip()) for line in lines[1:]}
    assert written == {tmp_path / "cdk.out" / f"{name}.template.json" for name in STAGING_STACKS}
    assert all(path.is_file() for path in written)
