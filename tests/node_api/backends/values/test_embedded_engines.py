"""Kuzu and LadybugDB, each in its own process (they cannot share one): the engine's own type list has a
rule and a case for every type, each case returns the type it covers, and both engines give the same
wire values and round trips through the node's encoder and parameter path (tests/node_api/backends/values/engine_probe.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from node_api.backends.values import RULES, LogicalType, parse_type, row_encoder
from tests.node_api.backends.values.cases import KUZU_CASES, KUZU_UNREACHABLE
from tests.node_api.backends.values.support import report, same
from tests.support.node import REPO_ROOT

ENGINES = ("kuzu", "ladybug")


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = {}
    for engine in ENGINES:
        directory = tmp_path_factory.mktemp(f"probe-{engine}")
        done = subprocess.run([sys.executable, "-m", "tests.node_api.backends.values.engine_probe", engine, str(directory)],
                              capture_output=True, text=True, cwd=REPO_ROOT, timeout=180, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        out[engine] = json.loads(done.stdout.splitlines()[-1])
    return out


@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_type_has_a_rule_and_a_case(probes: dict[str, dict[str, Any]], engine: str) -> None:
    engine_types = set(probes[engine]["types"])
    assert len(engine_types) >= 30  # the list really came from the engine
    assert sorted(engine_types - set(RULES)) == [], "types without an encoding rule (node_api/backends/values.py)"
    covered = {case.type_id for case in KUZU_CASES} | set(KUZU_UNREACHABLE)
    assert sorted(engine_types - covered) == [], "types without a case (tests/node_api/backends/values/cases.py)"


def test_type_text_is_read_whatever_the_field_names() -> None:
    """The engine prints struct field names unquoted: spaces, commas and parentheses included."""
    parsed = parse_type("STRUCT(a b INT64, c,d DATE, e) INT64[], f INT64 MAP(STRING, NODE[3]))")
    assert parsed.fields == ("a b", "c,d", "e)", "f INT64")
    assert [c.name for c in parsed.children] == ["INT64", "DATE", "LIST", "MAP"]
    assert parsed.children[3].children[1] == LogicalType("ARRAY", (LogicalType("NODE"),), size=3)
    assert parse_type("DECIMAL(38, 3)[]") == LogicalType("LIST", (LogicalType("DECIMAL"),))
    with pytest.raises(ValueError):
        parse_type("GIZMO")  # a type without a rule is not silently read
    assert row_encoder(["GIZMO"]) is not None  # ...and is encoded by value at run time


def test_any_is_encoded_by_value() -> None:
    """ANY is never a result column's type (KUZU_UNREACHABLE): its rule still encodes what it is given."""
    encode = row_encoder(["ANY", "ANY"])
    assert encode is not None and encode([None, {"_label": "X", "_id": 1}]) == [None, {"_label": "X", "_id": 1}]


@pytest.mark.parametrize("engine", ENGINES)
def test_both_engines_give_the_same_values(probes: dict[str, dict[str, Any]], engine: str) -> None:
    problems: list[str] = []
    for case in KUZU_CASES:
        entry = probes[engine]["cases"][case.name]
        if entry["type"] != case.type_id:
            problems.append(f"{case.name}: the engine returns {entry['type']}, the case covers {case.type_id}")
        problems += same(entry["wire"], case.wire, case.name)
        back = entry["back"]
        if case.back is None:
            if back != {"status": 400, "code": "invalid_parameter"}:
                problems.append(f"{case.name}: a graph value as a parameter gave {back}")
        elif case.back_status != 200:
            if not isinstance(back, dict) or back.get("status") != case.back_status:
                problems.append(f"{case.name}: sending it back gave {back}, not HTTP {case.back_status}")
        elif back != [[case.back_expected]]:
            problems.append(f"{case.name}: {case.back_cypher} gave {back}")
    report(problems)
