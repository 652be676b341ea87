"""The column plan: COPY order, casts, FROM/TO keys, misfits (no engine needed)."""

from __future__ import annotations

import pytest

from node_api.backends.base import GraphSchema, PropertyInfo, TableInfo
from node_api.core.staging.errors import GraphTableNotFound, SchemaMismatch
from node_api.core.staging.plan import build_plan, duckdb_type, find_table

PERSON = TableInfo("Person", "node", [PropertyInfo("id", "INT64", True), PropertyInfo("tags", "STRING[]")])
KNOWS = TableInfo("Knows", "rel", [PropertyInfo("weight", "DECIMAL(10, 2)")], ["Person"], ["Person"])
MULTI = TableInfo("Linked", "rel", [], ["Person", "Org"], ["Person"])
SCHEMA = GraphSchema([PERSON], [KNOWS, MULTI])


def test_types():
    assert duckdb_type("INT64") == "BIGINT"
    assert duckdb_type("STRING[]") == "VARCHAR[]"
    assert duckdb_type("DECIMAL(10, 2)") == "DECIMAL(10,2)"
    assert duckdb_type("MAP(STRING, INT64)") is None  # passed through uncast


def test_node_columns_follow_the_table_order_by_name():
    plan = build_plan(SCHEMA, PERSON, [("TAGS", "VARCHAR[]"), ("Id", "INTEGER")], ignore_errors=True)
    assert [(c.target, c.source, c.cast_to) for c in plan.columns] == [
        ("id", "Id", "BIGINT"),
        ("tags", "TAGS", "VARCHAR[]"),
    ]
    sql = plan.select_sql('main."P"')
    assert "TRY_CAST" in sql and 'QUALIFY row_number() OVER (PARTITION BY "id") = 1' in sql


def test_relationship_keys_come_first_by_name_or_position():
    named = build_plan(
        SCHEMA, KNOWS, [("weight", "DOUBLE"), ("dst", "BIGINT"), ("src", "BIGINT")], ignore_errors=False
    )
    assert [(c.target, c.source) for c in named.columns] == [
        ("from", "src"),
        ("to", "dst"),
        ("weight", "weight"),
    ]
    positional = build_plan(
        SCHEMA, KNOWS, [("a", "BIGINT"), ("b", "BIGINT"), ("weight", "DOUBLE")], ignore_errors=False
    )
    assert [c.source for c in positional.columns] == ["a", "b", "weight"]
    assert "QUALIFY" not in positional.select_sql("x") and "TRY_CAST" not in positional.select_sql("x")


def test_misfits_are_named():
    with pytest.raises(SchemaMismatch) as missing:
        build_plan(SCHEMA, PERSON, [("id", "BIGINT"), ("extra", "VARCHAR")], ignore_errors=False)
    assert missing.value.details["missing"] == ["tags"] and missing.value.details["unexpected"] == ["extra"]
    with pytest.raises(SchemaMismatch):
        build_plan(SCHEMA, MULTI, [("from", "BIGINT"), ("to", "BIGINT")], ignore_errors=False)
    with pytest.raises(GraphTableNotFound):
        find_table(SCHEMA, "Nope")
    assert find_table(SCHEMA, "person") is PERSON
