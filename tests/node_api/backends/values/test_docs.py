"""docs/result-values.md stays true: its typed examples read and write back as written, and its client
example runs against a node as written."""

from __future__ import annotations

import json
import re

import pytest

from node_api.core.jsonenc import dumps
from node_api.models.values import decode_value, encode_value
from tests.node_api.backends.values.conftest import KUZU_GRAPH
from tests.support.live_node import LiveNode
from tests.support.node import API_KEY, REPO_ROOT

DOC_GRAPH = "result_values_doc"  # a graph of the snippet's own: it creates it
DOC = (REPO_ROOT / "docs" / "result-values.md").read_text()


def test_every_typed_example_reads_and_writes_back() -> None:
    table = DOC.split("## The typed values")[1].split("\n## ")[0]
    examples = re.findall(r"`(\{\"\$type\": [^`]*)`", table)
    assert len(examples) >= 16
    for text in examples:
        wire = json.loads(text)
        if wire["$type"] == "Unsupported":  # documented as left to the caller
            assert decode_value(wire, strict=False) == wire
            continue
        assert json.loads(dumps(encode_value(decode_value(wire)))) == wire, text


def test_the_client_example_runs_as_written(embedded_live: LiveNode, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """The snippet as the docs test runs it (tests/docs), here on each engine: it prints what its
    comments say."""
    code = re.search(r"```python\n(from client import GraphClient.*?)```", DOC, re.S)
    assert code is not None
    monkeypatch.setenv("GRAPH_CLIENT_BASE_URL", embedded_live.url)
    monkeypatch.setenv("GRAPH_CLIENT_API_KEY", API_KEY)
    source = code.group(1).replace('"g"', repr(DOC_GRAPH))
    exec(source, {})  # noqa: S102 - the documented snippet itself
    printed = capsys.readouterr().out.splitlines()
    comments = [c.strip() for c in re.findall(r"#\s*(.+)", source) if not c.startswith(("GRAPH_", "any graph"))]
    assert printed == comments


def test_the_cli_takes_typed_parameters_and_prints_the_wire_form(embedded_live: LiveNode) -> None:
    """docs/clients.md: `-p` takes typed JSON; `--format json|ndjson` prints values as the API sends them."""
    from typer.testing import CliRunner

    from client.cli import app

    args = ["--url", embedded_live.url, "--api-key", API_KEY, "query", KUZU_GRAPH,
            "RETURN $d = date('2024-01-31') AS same, $d AS d, 9007199254740993 AS big",
            "-p", 'd={"$type": "Date", "_value": "2024-01-31"}']
    result = CliRunner().invoke(app, [*args, "--format", "ndjson"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"same": True, "d": {"$type": "Date", "_value": "2024-01-31"},
                                         "big": {"$type": "Integer", "_value": "9007199254740993"}}
    table = CliRunner().invoke(app, [*args, "--format", "csv"], env={"COLUMNS": "250"})
    assert table.stdout.splitlines()[1] == "true,2024-01-31,9007199254740993"
    bad = CliRunner().invoke(app, [*args[:-1], 'd={"$type": "Date", "_value": "soon"}'])
    assert bad.exit_code != 0 and "not ISO-8601 Date text" in bad.output
