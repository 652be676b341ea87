"""`python -m client` against a real node (typer's runner, in-process)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from client.cli import app
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


def test_create_custom_without_ddl_is_an_empty_graph(cli) -> None:
    assert "created cliblank (custom)" in cli("create", "cliblank", "--schema-type", "custom")
    assert "0" in cli("query", "cliblank", "CALL show_tables() RETURN count(*) AS n", "-f", "csv")


def test_a_local_file_outside_the_staging_root_gets_a_hint(node: LiveNode, graph: str, tmp_path: Path) -> None:
    (tmp_path / "elsewhere.parquet").write_bytes(parquet_bytes(people(3)))
    refused = invoke(node, "ingest", graph, "Person", str(tmp_path / "elsewhere.parquet"), code=1)
    assert "invalid_source" in refused.stderr
    assert "hint: the node reads local files only under its GRAPH_API_STAGING_LOCAL_ROOT" in refused.stderr
