"""What a worker does with one engine connection: statements, results, schema, counts, COPY.

Runs inside the worker process only (it imports the engine). Every function takes an engine
connection (`kuzu.Connection` or `ladybug.Connection`: the same Python API) and returns plain data
that the worker sends to the node as JSON.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from typing import Any

from node_api.backends.values import arrow_rows, needs_arrow, row_encoder, table_property_types
from node_api.core.jsonenc import dumps

_COPIED = re.compile(r"(\d+) tuples have been copied")
MAX_WARNINGS = 100


class PropertyTypes:
    """{property: type} of a node or rel table, for row_encoder, read once per table from the
    catalog and kept for the worker's database until a write (DDL is a write) may change it."""

    def __init__(self) -> None:
        self._known: dict[str, dict[str, str]] = {}

    def reader(self, conn: Any) -> Callable[[str], dict[str, str]]:
        def types_of(label: str) -> dict[str, str]:
            if label not in self._known:
                self._known[label] = table_property_types(lambda q: _rows(conn, q), label)
            return self._known[label]

        return types_of

    def forget(self) -> None:
        self._known.clear()


def _rows(conn: Any, statement: str) -> list[list[Any]]:
    result = conn.execute(statement)
    try:
        return result.get_all()
    finally:
        result.close()


# The largest chunk a worker sends the node in one message (more than one row). The node relays it
# whole and prefetches the next, so this bounds what each stream holds in the HTTP process: with 1,000-row
# chunks of 60 kB rows one NDJSON stream grew it by 270 MB, a few streams past KUZU_MAX_MEMORY_MB
# (found by attacking). Rows of ordinary size fill a 1,000-row chunk long before this.
CHUNK_BYTES = 8 << 20


class OpenResult:
    """One query's result on a worker connection, read a chunk at a time and sent as JSON bytes.

    Rows are encoded here, in the worker (types first: backends/values.py): the node relays the bytes
    without decoding them, so a large result costs the node's event loop (and its GIL) almost nothing.
    Results with values the Python API loses (nanoseconds, maps keyed by lists) are read through Arrow,
    which takes the rest of the result at once.
    """

    def __init__(self, result: Any, property_types: Callable[[str], dict[str, str]]) -> None:
        self._result = result
        self.columns: list[str] = list(result.get_column_names())
        self.types: list[str] = [str(t) for t in result.get_column_data_types()]
        self._encode = row_encoder(self.types, property_types)
        self._arrow: Iterator[list[Any]] | None = iter(()) if needs_arrow(self.types) else None
        self._arrow_done = False
        self._pending: list[Any] = []  # rows encoded but not sent: their chunk was too large
        self._pending_done = False

    def chunk(self, max_rows: int) -> tuple[bytes, int, bool]:
        """(rows as one JSON array, how many, whether the result is exhausted). A chunk of more than
        one row stays under about CHUNK_BYTES: the rows past it wait for the next call."""
        if self._pending:
            rows, self._pending = self._pending, []
            return self._bounded(rows, self._pending_done)
        result = self._result
        if self._arrow is not None:
            if not self._arrow_done:
                self._arrow = iter(arrow_rows(result.get_as_arrow(-1)) if result.has_next() else ())
                self._arrow_done = True
            rows = list(self._arrow if max_rows <= 0 else itertools.islice(self._arrow, max_rows))
            peek = next(self._arrow, None)
            if peek is not None:
                self._arrow = itertools.chain([peek], self._arrow)
            done = peek is None
        else:
            if not result.has_next():
                return b"[]", 0, True
            rows = result.get_all() if max_rows <= 0 else result.get_n(max_rows)
            done = not result.has_next()
        if self._encode is not None:
            rows = [self._encode(row) for row in rows]
        return self._bounded(rows, done)

    def _bounded(self, rows: list[Any], done: bool) -> tuple[bytes, int, bool]:
        data = dumps(rows)
        if len(data) <= CHUNK_BYTES or len(rows) == 1:
            return data, len(rows), done
        # Too large for one message to the node: send a share of the rows by their average size and keep
        # the rest (already encoded) for the next fetch. Only large chunks pay this second encoding.
        keep = max(1, len(rows) * CHUNK_BYTES // len(data))
        self._pending, self._pending_done = rows[keep:], done
        return dumps(rows[:keep]), keep, False

    def close(self) -> None:
        self._result.close()


def scalar(conn: Any, statement: str, parameters: dict[str, Any] | None = None) -> Any:
    result = conn.execute(statement, parameters or {})
    try:
        return result.get_next()[0]
    finally:
        result.close()


def records(conn: Any, statement: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    result = conn.execute(statement, parameters or {})
    try:
        columns = result.get_column_names()
        return [dict(zip(columns, row, strict=True)) for row in result.get_all()]
    finally:
        result.close()


def run_script(conn: Any, statements: list[str], *, transaction: bool) -> None:
    """Runs DDL in order; with `transaction`, all or nothing."""
    if not transaction:
        for statement in statements:
            conn.execute(statement).close()
        return
    conn.execute("BEGIN TRANSACTION")
    try:
        for statement in statements:
            conn.execute(statement).close()
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def plan(conn: Any, explain_statement: str, parameters: dict[str, Any]) -> str:
    """The engine's physical plan (`EXPLAIN ...`: one row, one cell of text) for the node's statement
    policy to judge. EXPLAIN binds but does not run (Kuzu 0.11.3's index functions excepted: the
    policy never explains those, docs/engine-facts.md)."""
    result = conn.execute(explain_statement, parameters)
    try:
        return "\n".join(str(row[0]) for row in result.get_all())
    finally:
        result.close()


def read_schema(conn: Any) -> dict[str, Any]:
    """{node_tables, rel_tables, indexes} as plain data (the node builds base.GraphSchema from it)."""
    node_tables: list[dict[str, Any]] = []
    rel_tables: list[dict[str, Any]] = []
    for table in records(conn, "CALL show_tables() RETURN *"):
        name, kind = table["name"], str(table["type"]).upper()
        props = [
            {"name": p["name"], "type": str(p["type"]), "primary_key": bool(p.get("primary key", False))}
            for p in records(conn, f"CALL table_info({string_literal(name)}) RETURN *")
        ]
        entry: dict[str, Any] = {"name": name, "kind": kind.lower(), "properties": props,
                                 "comment": table.get("comment") or None}
        if kind == "NODE":
            node_tables.append(entry)
        elif kind == "REL":
            pairs = records(conn, f"CALL show_connection({string_literal(name)}) RETURN *")
            entry["from_tables"] = sorted({c["source table name"] for c in pairs})
            entry["to_tables"] = sorted({c["destination table name"] for c in pairs})
            rel_tables.append(entry)
    # LadybugDB 0.22.0 lists each primary key's hash index (`_PK`; Kuzu lists none), in an order that
    # changes when the database reopens: those are left out (properties say `primary_key`), the rest sorted,
    # so the schema reads the same on both engines (docs/engine-facts.md).
    indexes = sorted(({k: _plain(v) for k, v in idx.items()} for idx in records(conn, "CALL show_indexes() RETURN *")
                      if idx.get("index_name") != "_PK"),
                     key=lambda idx: (str(idx.get("table_name", "")), str(idx.get("index_name", ""))))
    return {"node_tables": node_tables, "rel_tables": rel_tables, "indexes": indexes}


def string_literal(text: str) -> str:
    """A Cypher string literal. Table functions take literals only ("$t has type PARAMETER but
    LITERAL was expected"), and table names are the tenant's: they may hold quotes."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return str(value)


def row_counts(conn: Any, schema: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {
        "node_tables": {t["name"]: int(scalar(conn, f"MATCH (n:`{t['name']}`) RETURN count(n)"))
                        for t in schema["node_tables"]},
        "rel_tables": {t["name"]: int(scalar(conn, f"MATCH ()-[r:`{t['name']}`]->() RETURN count(r)"))
                       for t in schema["rel_tables"]},
    }


def copy_arrow(conn: Any, table_name: str, data: Any, *, ignore_errors: bool) -> tuple[int, list[str]]:
    """`COPY T FROM $data` with a pyarrow Table: (rows loaded, warnings for the skipped rows).

    With `(ignore_errors=true)` the engine skips bad rows and `CALL show_warnings()` lists them,
    together with the warnings of earlier statements on the same connection (kuzu 0.11.3,
    measured), so only the newest query's are kept. The COPY result says "N tuples have been copied".
    """
    options = " (ignore_errors=true)" if ignore_errors else ""
    result = conn.execute(f"COPY `{table_name}` FROM $data{options}", {"data": data})
    messages = [str(row[0]) for row in result.get_all()]
    result.close()
    loaded = next((int(m.group(1)) for m in map(_COPIED.search, messages) if m), 0)
    warnings: list[str] = []
    if loaded < data.num_rows:
        rows = records(conn, "CALL show_warnings() RETURN query_id, message")
        newest = max((r["query_id"] for r in rows), default=None)
        warnings = [str(r["message"]) for r in rows if r["query_id"] == newest][:MAX_WARNINGS]
    return loaded, warnings
