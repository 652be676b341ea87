"""User data of a graph node: its settings file, the scripts in `cdk/node/`, then `bootstrap.sh`.

The scripts stay plain files (syntax-checked by the tests); only the settings carry deploy-time values
(table names, function names, secret ARN), rendered by CloudFormation into /etc/graph-node/node.env.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import aws_ec2 as ec2

NODE_FILES = Path(__file__).parent / "node"
SETTINGS_FILE = "/etc/graph-node/node.env"
CLOUDWATCH_AGENT_CONFIG = "/etc/graph-node/cloudwatch-agent.json"
BIN_DIR = "/opt/graph-node/bin"


@dataclass(frozen=True)
class NodeFiles:
    """Which files of cdk/node/ a kind of node installs; `units` maps installed name -> source file."""

    scripts: tuple[str, ...]
    units: dict[str, str]
    entry: str


KUZU_NODE = NodeFiles(
    scripts=("common.sh", "bootstrap.sh", "lifecycle-watcher.sh"),
    units={n: n for n in ("graph-node.service", "graph-node-lifecycle.service")},
    entry="bootstrap.sh",
)
NEO4J_NODE = NodeFiles(
    scripts=("common.sh", "neo4j-bootstrap.sh"),
    units={"graph-node.service": "graph-node-neo4j.service"},
    entry="neo4j-bootstrap.sh",
)
_EOF = "GRAPH_NODE_EOF"  # quoted heredoc delimiter: nothing inside is expanded by the shell


def _heredoc(path: str, content: str, mode: str) -> list[str]:
    return [f"cat > {path} <<'{_EOF}'", *content.rstrip("\n").split("\n"), _EOF, f"chmod {mode} {path}"]


def cloudwatch_agent_config(*, log_group: str) -> str:
    """Ships the node API and bootstrap logs to the tier's log group."""
    files = [
        {
            "file_path": "/var/log/graph-node/*.log",
            "log_group_name": log_group,
            "log_stream_name": "{instance_id}",
        },
        {
            "file_path": "/var/log/graph-node-bootstrap.log",
            "log_group_name": log_group,
            "log_stream_name": "{instance_id}-bootstrap",
        },
    ]
    return json.dumps({"logs": {"logs_collected": {"files": {"collect_list": files}}}}, indent=1)


def node_user_data(
    settings: Mapping[str, str], *, files: NodeFiles = KUZU_NODE, agent_config: str | None = None
) -> ec2.UserData:
    """`settings` values may be CDK tokens; they resolve inside the rendered user data."""
    user_data = ec2.UserData.for_linux()
    lines = ["set -euo pipefail", f"mkdir -p /etc/graph-node {BIN_DIR} /var/log/graph-node"]
    lines += _heredoc(SETTINGS_FILE, "\n".join(f"{k}={v}" for k, v in settings.items()), "0644")
    if agent_config is not None:
        lines += _heredoc(CLOUDWATCH_AGENT_CONFIG, agent_config, "0644")
    for script in files.scripts:
        lines += _heredoc(f"{BIN_DIR}/{script}", (NODE_FILES / script).read_text(), "0755")
    for installed, source in files.units.items():
        lines += _heredoc(f"/etc/systemd/system/{installed}", (NODE_FILES / source).read_text(), "0644")
    lines.append(f"{BIN_DIR}/{files.entry}")
    user_data.add_commands(*lines)
    return user_data
