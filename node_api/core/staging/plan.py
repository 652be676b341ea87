"""How staged columns become the rows of one graph table: order, casts, bad rows, duplicates.

Kuzu's COPY binds columns by position: node tables take the properties in table order; relationship
tables take the FROM and TO keys first, then the properties. The plan selects and casts the staged
columns in that order inside DuckDB, so type problems surface there as clear errors (or, with
ignore_errors, as counted parse errors) before the graph is touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from node_api.backends.base import GraphSchema, TableInfo
from node_api.core.staging.errors import GraphTableNotFound, SchemaMismatch

_SCALARS = {
    "INT64": "BIGINT",
    "SERIAL": "BIGINT",
    "INT32": "INTEGER",
    "INT16": "SMALLINT",
    "INT8": "TINYINT",
    "INT128": "HUGEINT",
    "UINT64": "UBIGINT",
    "UINT32": "UINTEGER",
    "UINT16": "USMALLINT",
    "UINT8": "UTINYINT",
    "DOUBLE": "DOUBLE",
    "FLOAT": "FLOAT",
    "BOOL": "BOOLEAN",
    "BOOLEAN": "BOOLEAN",
    "STRING": "VARCHAR",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
    "TIMESTAMP_TZ": "TIMESTAMPTZ",
    "TIMESTAMP_NS": "TIMESTAMP_NS",
    "TIMESTAMP_MS": "TIMESTAMP_MS",
    "TIMESTAMP_SEC": "TIMESTAMP_S",
    "INTERVAL": "INTERVAL",
    "BLOB": "BLOB",
    "UUID": "UUID",
}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")
FROM_NAMES = ("from", "src", "source")
TO_NAMES = ("to", "dst", "target")


def duckdb_type(kuzu_type: str) -> str | None:
    """The DuckDB type matching a Kuzu column type; None = pass the value through uncast."""
    t = kuzu_type.strip().upper()
    if t.endswith("[]"):
        inner = duckdb_type(t[:-2])
        return f"{inner}[]" if inner else None
    if m := _DECIMAL.match(t):
        return f"DECIMAL({m.group(1)},{m.group(2)})"
    return _SCALARS.get(t)


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Column:
    target: str  # graph-side name ("from"/"to" for rel keys)
    source: str  # staged column
    cast_to: str | None


@dataclass(frozen=True)
class IngestPlan:
    table: TableInfo
    columns: list[Column]
    primary_key: str | None  # node tables: staged column holding the key
    ignore_errors: bool
    notes: list[str] = field(default_factory=list)

    @property
    def is_rel(self) -> bool:
        return self.table.kind == "rel"

    def select_sql(self, from_clause: str, order_by: str | None = None) -> str:
        """Rows in COPY order; with ignore_errors, rows that fail a cast and PK duplicates drop out
        (the first row per key in `order_by` order is kept)."""
        cast = "TRY_CAST" if self.ignore_errors else "CAST"
        exprs = [
            f"{cast}({q(c.source)} AS {c.cast_to}) AS {q(c.target)}"
            if c.cast_to
            else f"{q(c.source)} AS {q(c.target)}"
            for c in self.columns
        ]
        sql = f"SELECT {', '.join(exprs)} FROM {from_clause}"
        if self.ignore_errors:
            if bad := self.bad_row_condition():
                sql += f" WHERE NOT ({bad})"
            if self.primary_key is not None:
                # Node tables dedupe on the primary key: the first row per key is loaded.
                sql += f" QUALIFY {self.key_rank(order_by)} = 1"
        return sql

    def key_rank(self, order_by: str | None) -> str:
        """Each row's rank among the rows sharing its primary key (node tables only)."""
        assert self.primary_key is not None
        order = f" ORDER BY {order_by}" if order_by else ""
        return f"row_number() OVER (PARTITION BY {q(self.primary_key)}{order})"

    def bad_row_condition(self) -> str | None:
        """Rows holding a value that does not convert to the column's type."""
        checks = [
            f"({q(c.source)} IS NOT NULL AND TRY_CAST({q(c.source)} AS {c.cast_to}) IS NULL)"
            for c in self.columns
            if c.cast_to
        ]
        return " OR ".join(checks) or None


def find_table(schema: GraphSchema, name: str) -> TableInfo:
    for table in [*schema.node_tables, *schema.rel_tables]:
        if table.name.lower() == name.lower():
            return table
    known = sorted(t.name for t in [*schema.node_tables, *schema.rel_tables])
    raise GraphTableNotFound(
        f"the graph has no table {name!r} (tables: {', '.join(known) or 'none'})", table=name
    )


def _pk_type(schema: GraphSchema, node_table: str) -> str | None:
    for table in schema.node_tables:
        if table.name == node_table:
            return next((p.type for p in table.properties if p.primary_key), None)
    return None


def build_plan(
    schema: GraphSchema, table: TableInfo, staged: list[tuple[str, str]], *, ignore_errors: bool
) -> IngestPlan:
    """`staged`: (name, duckdb type) of the staged columns, in their order."""
    by_lower = {name.lower(): name for name, _ in staged}
    if len(by_lower) != len(staged):
        raise SchemaMismatch(
            "staged columns differ only by case; rename them", columns=[n for n, _ in staged]
        )
    columns: list[Column] = []
    used: set[str] = set()
    if table.kind == "rel":
        if len(table.from_tables) != 1 or len(table.to_tables) != 1:
            raise SchemaMismatch(
                f"relationship table {table.name} connects several node tables; load it per FROM/TO pair",
                from_tables=table.from_tables,
                to_tables=table.to_tables,
            )
        if len(staged) < 2:
            raise SchemaMismatch(
                f"relationship data needs FROM and TO key columns first; got {len(staged)} columns"
            )
        src = next((by_lower[n] for n in FROM_NAMES if n in by_lower), staged[0][0])
        dst = next((by_lower[n] for n in TO_NAMES if n in by_lower), staged[1][0])
        for target, name, node_table in (
            ("from", src, table.from_tables[0]),
            ("to", dst, table.to_tables[0]),
        ):
            key_type = _pk_type(schema, node_table)
            columns.append(Column(target, name, duckdb_type(key_type) if key_type else None))
            used.add(name.lower())
    for prop in table.properties:
        column = by_lower.get(prop.name.lower())
        if column is None or column.lower() in used:
            continue
        columns.append(Column(prop.name, column, duckdb_type(prop.type)))
        used.add(column.lower())
    missing = [p.name for p in table.properties if p.name.lower() not in used]
    extra = [name for name, _ in staged if name.lower() not in used]
    if missing or extra:
        raise SchemaMismatch(
            f"staged columns do not fit {table.kind} table {table.name}: "
            + "; ".join(
                part
                for part in (
                    f"missing {', '.join(missing)}" if missing else "",
                    f"not in the graph table: {', '.join(extra)}" if extra else "",
                )
                if part
            ),
            missing=missing,
            unexpected=extra,
            expected=[p.name for p in table.properties],
        )
    pk = next((p.name for p in table.properties if p.primary_key), None) if table.kind == "node" else None
    return IngestPlan(table=table, columns=columns, primary_key=pk, ignore_errors=ignore_errors)
