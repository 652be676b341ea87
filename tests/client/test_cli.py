"""`python -m client` against a real node (typer's runner, in-process)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from client.cli import app
from tests.client.conftest import API_KEY, PERSON_DDL, ClientNode, parquet_bytes, people

runner = CliRunner()


@pytest.fixture(scope="module")
def cli(node: ClientNode):
    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["--url", node.url, "--api-key", API_KEY, *args], env={"COLUMNS": "250"})
        assert result.exit_code == code, result.output
        return result.stdout

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


def test_errors_exit_1_with_the_code(cli, graph: str) -> None:
    result = runner.invoke(app, ["--url", "http://127.0.0.1:9", "--api-key", API_KEY, "databases"])
    assert result.exit_code == 1
    cli("query", graph, "RETURN (", code=1)


def test_ingest_local_file_backup_restore_tasks(cli, graph: str, local_root: Path) -> None:
    (local_root / "cli.parquet").write_bytes(parquet_bytes(people(40)))
    out = cli("ingest", graph, "Person", str(local_root / "cli.parquet"))
    assert "rows_ingested" in out and "40" in out
    assert "40" in cli("query", graph, "MATCH (p:Person) RETURN count(p) AS n", "-f", "csv")
    assert "succeeded" in cli("tasks", "--graph-id", graph)
    assert "backup_id" in cli("backup", graph)
    cli("restore", graph, "--target", "clipeople_restored")
    assert "40" in cli("query", "clipeople_restored", "MATCH (p:Person) RETURN count(p)", "-f", "csv")
