"""What tenant SQL over staging tables may do: an allow-list, checked on DuckDB's own parse.

DuckDB parses the statement (`json_serialize_sql`, which serializes SELECT statements only: SET,
PRAGMA, CALL, EXPLAIN, COPY, ATTACH, INSTALL, CREATE, INSERT... do not serialize and are refused),
and every node of its parse tree is checked against these lists:

- exactly one statement, a SELECT (with CTEs, set operations, VALUES, PIVOT/UNPIVOT, DESCRIBE or
  SUMMARIZE of a query);
- tables: this graph's staging tables, unqualified or as `main.<table>`, and the query's own CTEs;
  a name in another schema or catalog (`information_schema`, `_staging_meta`, `pg_catalog`, another
  database) is refused, an unknown name is a 400 naming the graph's staging tables;
- table functions in FROM: sql_functions.ALLOWED_TABLE_FUNCTIONS (generators, unnest, JSON
  expansion);
- functions in expressions: sql_functions.ALLOWED_FUNCTIONS, unqualified;
- expression and query constructs: the kinds listed below; a kind DuckDB adds later is refused
  until someone reviews it.

Why an allow-list: DuckDB's own lock-down (external access off, configuration locked, a read-only
transaction) stays under this as a second wall, but it does not stop everything. Measured on DuckDB
1.5.5: `SELECT * FROM enable_logging(storage:='file', storage_path:='/dir')` passes the lock-down and
returns 200; the next statement on the instance answers 500 and the one after aborts the whole
process (`terminate called after throwing duckdb::PermissionException`). No function that changes
engine state reaches DuckDB now.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import duckdb
import orjson

from node_api.core.staging.errors import StagingQueryFailed, StagingQueryRejected
from node_api.core.staging.extensions import BASE_CONFIG
from node_api.core.staging.sql_functions import (
    ALLOWED_FUNCTIONS,
    ALLOWED_TABLE_FUNCTIONS,
    REFUSED_FUNCTIONS,
    REFUSED_TABLE_FUNCTIONS,
)

_FUNCTIONS = frozenset(name.lower() for name in ALLOWED_FUNCTIONS)
_TABLE_FUNCTIONS = frozenset(name.lower() for name in ALLOWED_TABLE_FUNCTIONS)
_REASONS = {name.lower(): reason for name, reason in REFUSED_FUNCTIONS.items()}
_TABLE_REASONS = {name.lower(): reason for name, reason in REFUSED_TABLE_FUNCTIONS.items()}

# Parsed expression classes (DuckDB's ExpressionClass) a query may contain.
EXPRESSION_CLASSES = frozenset(
    {
        "BETWEEN",
        "CASE",
        "CAST",
        "COLLATE",
        "COLUMN_REF",
        "COMPARISON",
        "CONJUNCTION",
        "CONSTANT",
        "FUNCTION",
        "LAMBDA",
        "LAMBDA_REF",
        "OPERATOR",
        "PARAMETER",
        "POSITIONAL_REFERENCE",
        "STAR",
        "SUBQUERY",
        "WINDOW",
    }
)
QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})
TABLE_REFS = frozenset(
    {
        "BASE_TABLE",
        "JOIN",
        "SUBQUERY",
        "TABLE_FUNCTION",
        "EXPRESSION_LIST",
        "EMPTY",
        "PIVOT",
        "SHOW_REF",
    }
)
# Other typed parts of a SELECT: result modifiers and ORDER BY directions.
CLAUSES = frozenset(
    {
        "ORDER_MODIFIER",
        "LIMIT_MODIFIER",
        "LIMIT_PERCENT_MODIFIER",
        "DISTINCT_MODIFIER",
        "ORDER_DEFAULT",
        "ASCENDING",
        "DESCENDING",
    }
)
_SHOW_OF_A_QUERY = frozenset({"DESCRIBE", "SUMMARY"})
_FUNCTION_SCHEMAS = frozenset({"", "main", "pg_catalog"})

# The parser: an empty in-memory DuckDB that parses and never runs tenant SQL.
_parser_lock = threading.Lock()
_parser: duckdb.DuckDBPyConnection | None = None


def _parse(sql: str) -> dict[str, Any]:
    global _parser
    with _parser_lock:
        if _parser is None:
            _parser = duckdb.connect(
                ":memory:",
                config=dict(
                    BASE_CONFIG, enable_external_access="false", lock_configuration="true", threads="1"
                ),
            )
        row = _parser.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchone()
    assert row is not None
    return orjson.loads(row[0])


@dataclass(frozen=True)
class Verdict:
    """The staging tables a permitted statement reads (as the graph names them)."""

    tables: tuple[str, ...]


def check(sql: str, staging_tables: Collection[str], *, max_length: int) -> Verdict:
    """Raises StagingQueryRejected (403 forbidden_statement) for anything outside the policy and
    StagingQueryFailed (400 invalid_query) for SQL that does not parse or names an unknown table."""
    if not sql.strip():
        raise StagingQueryFailed("sql is empty")
    if len(sql) > max_length:
        raise StagingQueryFailed(f"sql longer than {max_length} characters")
    try:
        parsed = _parse(sql)
    except duckdb.Error:
        raise StagingQueryFailed("the SQL could not be parsed") from None
    except orjson.JSONDecodeError:  # DuckDB's parse tree deeper than orjson reads (1024): `1 + 1 + ...`
        raise StagingQueryFailed(f"the SQL nests too deeply (its parse tree is deeper than {MAX_PARSE_DEPTH} "
                                 "levels)") from None
    if parsed.get("error"):
        if parsed.get("error_type") == "parser":
            raise StagingQueryFailed(f"the SQL does not parse: {_parser_message(parsed)}")
        if "Only SELECT" in str(parsed.get("error_message")):
            raise StagingQueryRejected("only read-only SELECT statements are allowed")
        raise StagingQueryRejected("the SQL uses a construct this node does not allow")
    statements = parsed.get("statements") or []
    if len(statements) != 1:
        raise StagingQueryRejected("exactly one SQL statement is allowed")
    if _depth(statements[0]) > MAX_PARSE_DEPTH:
        raise StagingQueryFailed(f"the SQL nests too deeply (its parse tree is deeper than {MAX_PARSE_DEPTH} levels)")
    walker = _Walker({name.lower(): name for name in staging_tables})
    walker.statement(statements[0], frozenset())
    return Verdict(tuple(walker.tables))


# The walker below recurses once or twice per level of the parse tree, and DuckDB parses expressions
# up to 1000 deep (max_expression_depth): `SELECT [[[...]]]` 500 deep raised RecursionError, a 500
# (found by attacking). About two tree levels make one expression level: 128 nested expressions.
MAX_PARSE_DEPTH = 256


def _depth(tree: Any) -> int:
    """The nesting depth of a parsed statement (JSON objects and arrays), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_PARSE_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _parser_message(parsed: dict[str, Any]) -> str:
    """DuckDB's syntax message about the tenant's own SQL (its first line: no context lines)."""
    return str(parsed.get("error_message") or "syntax error").splitlines()[0][:300]


class _Walker:
    def __init__(self, staging_tables: dict[str, str]) -> None:
        self.staging = staging_tables
        self.tables: list[str] = []

    def statement(self, statement: dict[str, Any], ctes: frozenset[str]) -> None:
        self.node(statement.get("node"), ctes)

    def node(self, node: Any, ctes: frozenset[str]) -> None:
        if isinstance(node, list):
            for item in node:
                self.node(item, ctes)
            return
        if not isinstance(node, dict):
            return
        if "class" in node:
            self.expression(node, ctes)
            return
        kind = node.get("type")
        if isinstance(kind, str):
            if kind in QUERY_NODES:
                ctes = ctes | self._cte_names(node)
            elif kind in TABLE_REFS:
                self.table_ref(node, ctes)
                return
            elif kind not in CLAUSES:
                raise StagingQueryRejected(
                    f"the SQL uses a construct this node does not allow ({kind.lower()})"
                )
        for value in node.values():
            self.node(value, ctes)

    @staticmethod
    def _cte_names(node: dict[str, Any]) -> frozenset[str]:
        entries = (node.get("cte_map") or {}).get("map") or []
        names = {str(e.get("key", "")).lower() for e in entries}
        if node.get("type") == "RECURSIVE_CTE_NODE" and node.get("cte_name"):
            names.add(str(node["cte_name"]).lower())
        return frozenset(names)

    def table_ref(self, ref: dict[str, Any], ctes: frozenset[str]) -> None:
        kind = ref["type"]
        if kind == "BASE_TABLE":
            self.base_table(ref, ctes)
        elif kind == "TABLE_FUNCTION":
            function = ref.get("function") or {}
            self.function(function, table=True)
            self.node(function.get("children"), ctes)
        elif kind == "SHOW_REF":
            if ref.get("show_type") not in _SHOW_OF_A_QUERY or not ref.get("query"):
                raise StagingQueryRejected(
                    "SHOW lists the node's catalogs; GET /databases/{graph_id}/tables lists this graph's tables"
                )
            self.node(ref["query"], ctes)
        else:
            for key, value in ref.items():
                if key != "type":
                    self.node(value, ctes)

    def base_table(self, ref: dict[str, Any], ctes: frozenset[str]) -> None:
        name = str(ref.get("table_name", ""))
        schema = str(ref.get("schema_name", "")).lower()
        if ref.get("catalog_name") or schema not in ("", "main"):
            raise StagingQueryRejected(
                "tenant SQL reads this graph's staging tables only (no schema or catalog names)"
            )
        if ref.get("at_clause"):
            raise StagingQueryRejected("AT (time travel) clauses are not allowed")
        if not schema and name.lower() in ctes:
            return
        if name.lower() not in self.staging:
            known = ", ".join(sorted(self.staging.values())) or "none"
            raise StagingQueryFailed(
                f"no staging table named {name!r} (this graph's staging tables: {known})"
            )
        self.tables.append(self.staging[name.lower()])

    def expression(self, node: dict[str, Any], ctes: frozenset[str]) -> None:
        kind = node["class"]
        if kind not in EXPRESSION_CLASSES:
            raise StagingQueryRejected(
                f"the SQL uses an expression this node does not allow ({kind.lower()})"
            )
        if kind in ("FUNCTION", "WINDOW"):
            self.function(node, table=False)
        for key, value in node.items():
            if (kind == "CONSTANT" and key == "value") or key == "cast_type":
                continue  # data and type names, not code
            self.node(value, ctes)

    def function(self, node: dict[str, Any], *, table: bool) -> None:
        name = str(node.get("function_name", ""))
        # DuckDB's parser itself writes `main.list_value` for `[...]`, `main.struct_pack` for {...}.
        if str(node.get("schema", "")).lower() not in _FUNCTION_SCHEMAS or str(
            node.get("catalog", "")
        ).lower() not in ("", "system"):
            raise StagingQueryRejected(f"function {name!r}: only DuckDB's built-in functions can be called")
        lowered = name.lower()
        allowed, reasons = (_TABLE_FUNCTIONS, _TABLE_REASONS) if table else (_FUNCTIONS, _REASONS)
        if lowered in allowed:
            return
        reason = reasons.get(lowered) or (_TABLE_REASONS.get(lowered) if not table else _REASONS.get(lowered))
        what = "table function" if table else "function"
        raise StagingQueryRejected(
            f"{what} {name!r} is not allowed in staging SQL" + (f": it {reason}" if reason else ""),
            function=name,
        )
