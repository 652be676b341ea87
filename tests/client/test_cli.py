"""`python -m client` against a real node (typer's runner, in-process)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from client.cli import age_text, app
from tests.client.conftest import API_KEY, PERSON_DDL, parquet_bytes, people
from tests.support.live_node import LiveNode

runner = CliRunner()


def invoke(node: LiveNode, *args: str, code: int = 0, columns: int = 250) -> Result:
    result = runner.invoke(app, ["--url", node.url, "--api-key", API_KEY, *args], env={"COLUMNS": str(columns)})
    assert result.exit_code == code, result.output
    return result


@pytest.fixture(scope="module")
def cli(node: LiveNode):
    def run(*args: str, code: int = 0) -> str:
        return invoke(node, *args, code=code).stdout

    return run


@pytest.fixture(scope="module")
def graph(cli, tmp_path_factory: pytest.TempPathFactory) -> str:
    ddl = tmp_path_factory.mktemp("ddl") / "people.cypher"
    ddl.write_text(PERSON_DDL)
    assert "created clipeople" in cli("create", "clipeople", "--schema-type", "custom", "--ddl-file", str(ddl))
    return "clipeople"


def test_health_and_databases(cli, graph: str) -> None:
    assert "healthy" in cli("health")
    assert graph in cli("databases")


def test_query_formats(cli, graph: str) -> None:
    q = "UNWIND range(1, 3) AS x RETURN x, 'v' + string(x) AS label"
    assert "v3" in cli("query", graph, q)
    assert json.loads(cli("query", graph, q, "-f", "json"))["rows"][0] == {"x": 1, "label": "v1"}
    lines = [json.loads(line) for line in cli("query", graph, q, "--format", "ndjson").splitlines()]
    assert lines == [{"x": i, "label": f"v{i}"} for i in (1, 2, 3)]
    assert list(csv.reader(io.StringIO(cli("query", graph, "RETURN $n AS n", "-f", "csv", "-p", "n=5")))) == [
        ["n"], ["5"]]


def test_csv_lines_end_in_newline_not_crlf(cli, graph: str) -> None:
    """So `grep '^1$'` and other line tools match the rows."""
    assert cli("query", graph, "UNWIND [1, 2] AS n RETURN n, 'a,b' AS s", "-f", "csv") == 'n,s\n1,"a,b"\n2,"a,b"\n'


def test_errors_exit_1_with_the_code(cli, graph: str) -> None:
    result = runner.invoke(app, ["--url", "http://127.0.0.1:9", "--api-key", API_KEY, "databases"])
    assert result.exit_code == 1
    cli("query", graph, "RETURN (", code=1)


NO_NODE = "http://127.0.0.1:9"  # the discard port: nothing listens on it


def test_an_unreachable_node_is_named_with_the_setting_that_chose_it() -> None:
    env = {"GRAPH_CLIENT_MAX_ATTEMPTS": "1", "GRAPH_CLIENT_API_KEY": API_KEY, "GRAPH_ROUTER_URL": None,
           "GRAPH_CLIENT_ROUTER_URL": None}
    by_option = runner.invoke(app, ["--url", NO_NODE, "databases"], env={**env, "GRAPH_CLIENT_BASE_URL": None})
    assert by_option.exit_code == 1
    assert f"error: cannot reach the node at {NO_NODE} (--url): " in by_option.stderr
    by_env = runner.invoke(app, ["databases"], env={**env, "GRAPH_CLIENT_BASE_URL": NO_NODE + "/"})
    assert by_env.exit_code == 1
    assert f"cannot reach the node at {NO_NODE} (GRAPH_CLIENT_BASE_URL)" in by_env.stderr


def test_a_missing_or_wrong_key_names_the_cli_settings(node: LiveNode) -> None:
    no_key = {"GRAPH_CLIENT_API_KEY": None, "GRAPH_API_KEY": None}
    missing = runner.invoke(app, ["--url", node.url, "databases"], env=no_key)
    assert missing.exit_code == 1
    assert "401 missing_api_key: no API key was sent: set GRAPH_CLIENT_API_KEY or pass --api-key" in missing.stderr
    assert "header" not in missing.stderr  # the HTTP advice is not the CLI user's
    wrong = runner.invoke(app, ["--url", node.url, "--api-key", "not-the-key", "databases"], env=no_key)
    assert wrong.exit_code == 1
    assert "401 invalid_api_key: the API key was refused: set GRAPH_CLIENT_API_KEY or pass --api-key" in wrong.stderr


def test_ingest_local_file_backup_restore_tasks(cli, node: LiveNode, graph: str, local_root: Path) -> None:
    (local_root / "cli.parquet").write_bytes(parquet_bytes(people(40)))
    ingested = invoke(node, "ingest", graph, "Person", str(local_root / "cli.parquet"))
    out = ingested.stdout
    assert "rows_ingested" in out and "40" in out
    # Each step's progress line: rows of its last phase and the task's rate (the ETA only while running).
    progress = ingested.stderr
    assert re.search(r"stage Person: succeeded .*100%.* 40/40 rows +[\d,]+ rows/s", progress), progress
    assert re.search(r"ingest Person: succeeded .*100%.* 40/40 rows +[\d,]+ rows/s", progress), progress
    assert "40" in cli("query", graph, "MATCH (p:Person) RETURN count(p) AS n", "-f", "csv")
    assert "succeeded" in cli("tasks", "--graph-id", graph)
    assert "backup_id" in cli("backup", graph)
    cli("restore", graph, "--target", "clipeople_restored")
    assert "40" in cli("query", "clipeople_restored", "MATCH (p:Person) RETURN count(p)", "-f", "csv")


def test_task_ids_are_whole_in_the_table_and_their_start_is_enough(cli, node: LiveNode, graph: str) -> None:
    cli("backup", graph)
    cli("backup", graph)
    narrow = invoke(node, "tasks", "--graph-id", graph, columns=60).stdout
    ids = set(re.findall(r"task_[0-9a-f]{20}", narrow))
    assert len(ids) >= 2, narrow  # whole ids, even on a narrow terminal
    task_id = sorted(ids)[0]
    assert task_id in cli("tasks", task_id[:12])
    assert task_id in cli("tasks", task_id)
    missing = invoke(node, "tasks", "task_zz", code=1)
    assert "no task 'task_zz'" in missing.stderr
    assert "is the start of" in invoke(node, "tasks", "task_", code=1).stderr


def test_the_task_table_fits_80_columns_with_every_cell_whole(cli, node: LiveNode, graph: str) -> None:
    cli("backup", graph)
    listing = invoke(node, "tasks", "--graph-id", graph, columns=80).stdout
    lines = [line for line in listing.splitlines() if line.strip()]
    assert lines and all(len(line) <= 80 for line in lines), listing
    assert lines[0].split() == ["task_id", "kind", "graph_id", "status", "progress", "age"]
    rows = [line.split() for line in lines[1:] if line.lstrip().startswith("task_")]
    assert rows, listing
    for task_id, kind, graph_id, status, progress, age in rows:  # one line each: nothing folded or cut
        assert re.fullmatch(r"task_[0-9a-f]{20}", task_id)
        assert kind in {"backup", "restore", "stage_table", "ingest", "s3_copy"}
        assert (graph_id, status, progress) == (graph, "succeeded", "100%")
        assert re.fullmatch(r"\d+[smhd]", age)
    wide = invoke(node, "tasks", "--graph-id", graph, "--wide", columns=140).stdout
    assert wide.split()[:8] == ["task_id", "kind", "graph_id", "status", "progress", "rows", "rate", "created_at"]
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", wide), wide


def test_age_is_the_largest_whole_unit() -> None:
    now = datetime(2025, 1, 2, 12, 0, 0, tzinfo=UTC)
    ages = [age_text(now - timedelta(seconds=s), now) for s in (0, 59, 60, 3599, 3600, 86399, 86400 * 3)]
    assert ages == ["0s", "59s", "1m", "59m", "1h", "23h", "3d"]


def test_create_custom_without_ddl_is_an_empty_graph(cli) -> None:
    assert "created cliblank (custom)" in cli("create", "cliblank", "--schema-type", "custom")
    assert "0" in cli("query", "cliblank", "CALL show_tables() RETURN count(*) AS n", "-f", "csv")


def test_a_local_file_outside_the_staging_root_gets_a_hint(node: LiveNode, graph: str, tmp_path: Path,
                                                           local_root: Path) -> None:
    (tmp_path / "elsewhere.parquet").write_bytes(parquet_bytes(people(3)))
    refused = invoke(node, "ingest", graph, "Person", str(tmp_path / "elsewhere.parquet"), code=1)
    assert "invalid_source" in refused.stderr
    assert f"hint: the node reads local files only under its GRAPH_API_STAGING_LOCAL_ROOT {local_root.resolve()};" \
        in refused.stderr
