"""`graph-cli` routed through the router API: create places the graph through the allocator, graph
commands find its node, `where`/`instances` read the router, and --url refuses writes elsewhere."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
from botocore.credentials import Credentials
from typer.testing import CliRunner

from client.cli import app
from cluster_local.__main__ import export_lines
from tests.client.conftest import API_KEY, PERSON_DDL, Register
from tests.support.live_node import LiveNode

runner = CliRunner()


@pytest.fixture
def cli(router_url: str, credentials: Credentials, env: str):
    environment = {"COLUMNS": "250", "GRAPH_ROUTER_URL": router_url, "GRAPH_CLIENT_API_KEY": API_KEY,
                   "GRAPH_CLIENT_ENVIRONMENT": env, "AWS_ACCESS_KEY_ID": credentials.access_key,
                   "AWS_SECRET_ACCESS_KEY": credentials.secret_key, "AWS_SESSION_TOKEN": "",
                   "AWS_SECURITY_TOKEN": "", "GRAPH_CLIENT_MAX_ATTEMPTS": "1"}

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args), env=environment)
        assert result.exit_code == code, result.output
        return result.output

    return run


def test_create_query_where_through_the_router(cli, register: Register, node: LiveNode, node_b: LiveNode,
                                               tmp_path: Path) -> None:
    register("i-a", node.url)
    graph_id = "cli" + uuid.uuid4().hex[:8]
    ddl = tmp_path / "people.cypher"
    ddl.write_text(PERSON_DDL)
    assert f"created {graph_id}" in cli("create", graph_id, "--schema-type", "custom", "--ddl-file", str(ddl))
    cli("query", graph_id, "UNWIND range(1, 5) AS i CREATE (:Person {id: i, name: 'p'})")
    assert "5" in cli("query", graph_id, "MATCH (p:Person) RETURN count(p) AS n", "-f", "csv")
    where = cli("where", graph_id)
    assert "i-a" in where and node.url in where and "active" in where
    assert graph_id in cli("instances")


def test_url_override_refuses_writes_where_the_registry_does_not_assign(
    cli, register: Register, node: LiveNode, node_b: LiveNode
) -> None:
    register("i-a", node.url)
    graph_id = "cliw" + uuid.uuid4().hex[:8]
    cli("create", graph_id)
    # The graph is on node a; writing through node b is refused, reading there is allowed (and fails: not there).
    out = cli("--url", node_b.url, "query", graph_id, "CREATE (:Entity {identifier: 'x'})", code=1)
    assert "refusing to write" in out and node.url in out
    cli("--url", node_b.url, "query", graph_id, "RETURN 1", code=1)
    # Creating a graph the registry never placed, through --url, is refused too ...
    out = cli("--url", node_b.url, "create", "unplaced" + uuid.uuid4().hex[:6], code=1)
    assert "assigns it to no serving node" in out
    # ... unless forced; and writing through the assigned node's own URL is fine.
    cli("--url", node_b.url, "--force", "create", "forced" + uuid.uuid4().hex[:6])
    cli("--url", node.url, "query", graph_id, "RETURN 1")


def test_routing_errors_exit_1_with_their_message(cli) -> None:
    out = cli("query", "nowhere", "RETURN 1", code=1)
    assert "not registered" in out


def test_one_node_commands_ask_for_a_node_instead_of_guessing(cli, register: Register, node: LiveNode) -> None:
    """With a router, `databases`, `health` and `tasks` (no --graph-id) are about a node the command
    does not name: a usage error at once (exit 2), not a connection to the default URL."""
    out = cli("databases", code=2)
    assert "`databases` lists one node's graphs: pass --url (the nodes: `graph-cli instances`)" in out
    assert "`health` checks one node: pass --url" in cli("health", code=2)
    assert "`tasks` lists one node's tasks: pass --url or --graph-id" in cli("tasks", code=2)
    assert "pass --url or --graph-id" in cli("tasks", "task_0123", code=2)
    # Named, they run: --url for the node, or a graph the router finds.
    assert "databases" in cli("--url", node.url, "databases")
    assert "healthy" in cli("--url", node.url, "health")
    register("i-a", node.url)
    graph_id = "clit" + uuid.uuid4().hex[:8]
    cli("create", graph_id)
    assert "task_id" in cli("tasks", "--graph-id", graph_id)


def test_cluster_env_says_it_replaces_the_aws_settings_and_evals_cleanly(tmp_path: Path) -> None:
    """`eval "$(scripts/cluster env)"` is how graph-cli finds the local cluster: its first line is a
    comment naming the AWS settings it replaces and how to undo that; the rest are exports."""
    env = {"AWS_ACCESS_KEY_ID": "AKIA1", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_SESSION_TOKEN": "",
           "GRAPH_ROUTER_URL": "http://127.0.0.1:6000", "GRAPH_CLIENT_API_KEY": "k y'z"}
    lines = export_lines(env)
    assert lines[0].startswith("# replaces this shell's AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, AWS_SESSION_TOKEN ")
    assert "undo: a new shell, or unset AWS_ACCESS_KEY_ID AWS_ENDPOINT_URL AWS_SESSION_TOKEN " in lines[0]
    script = tmp_path / "env.sh"
    script.write_text('eval "$(cat "$1")"\nfor k in ' + " ".join(env) + '; do printf "%s=%s\\n" "$k" "${!k}"; done\n')
    listing = tmp_path / "env.txt"
    listing.write_text("\n".join(lines) + "\n")
    done = subprocess.run(["bash", str(script), str(listing)], capture_output=True, text=True, check=True,
                          env={"PATH": os.environ["PATH"], "AWS_ACCESS_KEY_ID": "real"})
    assert done.stdout.splitlines() == [f"{k}={v}" for k, v in env.items()]
    assert done.stderr == ""
