"""One schema for the Parquet files of a pattern, by column name, without losing a value.

Measured on DuckDB 1.5.5, `read_parquet(union_by_name=true)` is not enough (docs/ingestion.md has
the table): it widens BIGINT + DOUBLE to DOUBLE (2^60+1 comes back as 1.152921504606847e+18) and
BIGINT + VARCHAR to VARCHAR, orders struct fields by file order, and without union_by_name it
drops columns and struct fields of later files. So the node reads each file's schema from its
footer (`parquet_schema`), unifies them here, and reads every group of files sharing one schema
with explicit casts to the unified types (`SourceFiles.select`).

Rules (`unify`), applied column by column and recursively into lists, structs and maps:
- a column or struct field missing from a file is NULL in that file's rows; a NULL-typed column
  (all nulls, Arrow's `null`) takes the other files' type;
- integers widen to the smallest type holding both (INTEGER + BIGINT -> BIGINT, UINTEGER +
  INTEGER -> BIGINT, UBIGINT + BIGINT -> HUGEINT); an integer meets a float only where the float's
  mantissa holds every value of the integer type (SMALLINT + FLOAT -> FLOAT, INTEGER + FLOAT or
  DOUBLE -> DOUBLE; BIGINT + DOUBLE is refused); FLOAT + DOUBLE -> DOUBLE;
- decimals (and integers as decimals) widen to the digits both need, up to DECIMAL(38, s);
  a decimal never meets a float;
- timestamps without a zone widen to the finer unit (TIMESTAMP + TIMESTAMP_NS -> TIMESTAMP_NS; a
  value outside the finer unit's range fails the read, naming the column);
- anything else meets only itself: VARCHAR + BIGINT, DATE + TIMESTAMP, TIMESTAMP + TIMESTAMPTZ,
  BLOB + VARCHAR... are a `schema_mismatch` naming the column and the files on each side;
- column and field names match exactly; two spellings of one name (`Id`, `id`) are refused, since
  DuckDB's identifiers ignore case;
- columns keep the order in which they first appear, files taken in path order.

A file can also hold a type DuckDB cannot keep exactly: timestamps with a zone in nanoseconds
(DuckDB's TIMESTAMPTZ is microseconds), TIME in nanoseconds, decimals wider than 38 digits (DuckDB
reads them as DOUBLE). Those files are refused (`Unrepresentable`), never read lossily.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

_SIGNED = {"tinyint": 8, "smallint": 16, "integer": 32, "bigint": 64, "hugeint": 128}
_UNSIGNED = {"utinyint": 8, "usmallint": 16, "uinteger": 32, "ubigint": 64, "uhugeint": 128}
_SIGNED_BY_BITS = {8: "TINYINT", 16: "SMALLINT", 32: "INTEGER", 64: "BIGINT", 128: "HUGEINT"}
_FLOAT_MANTISSA = {"float": 24, "double": 53}
_DECIMAL_DIGITS = {  # digits of the widest value of each integer type
    "tinyint": 3,
    "smallint": 5,
    "integer": 10,
    "bigint": 19,
    "hugeint": 39,
    "utinyint": 3,
    "usmallint": 5,
    "uinteger": 10,
    "ubigint": 20,
    "uhugeint": 39,
}
_TIMESTAMP_RANK = {"timestamp_s": 0, "timestamp_ms": 1, "timestamp": 2, "timestamp_ns": 3}
MAX_DECIMAL_PRECISION = 38  # DuckDB's DECIMAL


@dataclass(frozen=True)
class ColumnType:
    """A DuckDB type as a tree. kind: null | scalar | decimal | list | struct | map.

    scalar: `id` is DuckDB's type id ("bigint", "timestamp with time zone"...), `sql` its name;
    list: children = (("", element),); map: (("key", k), ("value", v)); struct: its fields in order.
    """

    kind: str
    id: str = ""
    sql: str = ""
    children: tuple[tuple[str, ColumnType], ...] = ()
    precision: int = 0
    scale: int = 0

    @property
    def has_null(self) -> bool:
        return self.kind == "null" or any(child.has_null for _, child in self.children)

    def render(self) -> str:
        """DuckDB's SQL for the type (an all-NULL column becomes INTEGER, as DuckDB stages it)."""
        if self.kind == "null":
            return "INTEGER"
        if self.kind == "decimal":
            return f"DECIMAL({self.precision},{self.scale})"
        if self.kind == "list":
            return f"{self.children[0][1].render()}[]"
        if self.kind == "map":
            return f"MAP({self.children[0][1].render()}, {self.children[1][1].render()})"
        if self.kind == "struct":
            return "STRUCT(" + ", ".join(f"{quote(n)} {t.render()}" for n, t in self.children) + ")"
        return self.sql

    def same_shape(self, other: ColumnType) -> bool:
        """Equal, where this tree's NULL may stand for DuckDB's INTEGER (how DESCRIBE shows it)."""
        if self.kind == "null":
            return other.kind == "null" or other.id == "integer"
        if (self.kind, self.id, self.precision, self.scale) != (
            other.kind,
            other.id,
            other.precision,
            other.scale,
        ):
            return False
        if len(self.children) != len(other.children):
            return False
        return all(
            a_name == b_name and a.same_shape(b)
            for (a_name, a), (b_name, b) in zip(self.children, other.children, strict=True)
        )


NULL = ColumnType("null")


def scalar(sql: str) -> ColumnType:
    """The type named by DuckDB's SQL (a leaf's `duckdb_type` in parquet_schema)."""
    if sql.strip('"').upper() == "NULL":
        return NULL
    return of_duckdb(duckdb.sqltype(sql))


def of_duckdb(t: Any) -> ColumnType:
    """From a DuckDBPyType (a cursor's description, `duckdb.sqltype`)."""
    kind = t.id
    if kind == "decimal":
        params = dict(t.children)
        return ColumnType("decimal", "decimal", str(t), precision=params["precision"], scale=params["scale"])
    if kind in ("list", "array"):  # Parquet has no fixed-size lists: DuckDB reads them as lists
        return list_of(of_duckdb(dict(t.children)["child"]))
    if kind == "struct":
        return struct_of([(name, of_duckdb(child)) for name, child in t.children])
    if kind == "map":
        params = dict(t.children)
        return map_of(of_duckdb(params["key"]), of_duckdb(params["value"]))
    if kind == '"null"' or str(t) == '"NULL"':
        return NULL
    return ColumnType("scalar", kind, str(t))


def list_of(element: ColumnType) -> ColumnType:
    return ColumnType("list", "list", children=(("", element),))


def struct_of(fields: Sequence[tuple[str, ColumnType]]) -> ColumnType:
    return ColumnType("struct", "struct", children=tuple(fields))


def map_of(key: ColumnType, value: ColumnType) -> ColumnType:
    return ColumnType("map", "map", children=(("key", key), ("value", value)))


def decimal(precision: int, scale: int) -> ColumnType:
    return ColumnType("decimal", "decimal", f"DECIMAL({precision},{scale})", precision=precision, scale=scale)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# ---- Parquet footers -> types


@dataclass
class SchemaNode:
    """One row of DuckDB's `parquet_schema()`, with its children."""

    name: str
    repetition: str | None
    converted_type: str | None
    logical_type: str | None
    duckdb_type: str | None
    precision: int | None
    children: list[SchemaNode] = field(default_factory=list)


class Unrepresentable(Exception):
    """A file's column that DuckDB would read with less precision than it was written with."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason


def schema_tree(rows: Sequence[tuple[Any, ...]]) -> list[SchemaNode]:
    """The top-level columns of one file, from its parquet_schema rows in `column_id` order:
    (name, repetition_type, num_children, converted_type, logical_type, duckdb_type, precision)."""
    nodes = [SchemaNode(r[0], r[1], r[3], r[4], r[5], r[6]) for r in rows]
    counts = [int(r[2] or 0) for r in rows]
    position = 0

    def read() -> SchemaNode:
        nonlocal position
        node, count = nodes[position], counts[position]
        position += 1
        node.children = [read() for _ in range(count)]
        return node

    root = read()
    if position != len(rows):
        raise ValueError("parquet_schema rows do not form one tree")
    return root.children


def column_type(node: SchemaNode, path: str) -> ColumnType:
    """DuckDB's type for one Parquet column (the reading rules of the Parquet spec's LogicalTypes.md,
    backward-compatibility cases included). Raises Unrepresentable."""
    if node.repetition == "REPEATED":
        return list_of(_element(node, path))
    return _element(node, path)


def _element(node: SchemaNode, path: str) -> ColumnType:
    if not node.children:
        return _leaf(node, path)
    logical = node.logical_type or ""
    if node.converted_type == "LIST" or logical.startswith("ListType"):
        repeated = node.children[0]
        if len(node.children) != 1:
            return struct_of([(c.name, column_type(c, f"{path}.{c.name}")) for c in node.children])
        if not repeated.children:
            return list_of(_leaf(repeated, f"{path}[]"))  # two-level list
        if len(repeated.children) == 1 and repeated.name not in ("array", f"{node.name}_tuple"):
            return list_of(column_type(repeated.children[0], f"{path}[]"))
        return list_of(struct_of([(c.name, column_type(c, f"{path}[].{c.name}")) for c in repeated.children]))
    if node.converted_type in ("MAP", "MAP_KEY_VALUE") or logical.startswith("MapType"):
        entries = node.children[0]
        key, value = entries.children
        return map_of(column_type(key, f"{path}.key"), column_type(value, f"{path}.value"))
    return struct_of([(c.name, column_type(c, f"{path}.{c.name}")) for c in node.children])


def _leaf(node: SchemaNode, path: str) -> ColumnType:
    logical = node.logical_type or ""
    nanos = "NANOS=NanoSeconds()" in logical
    if logical.startswith("TimestampType(isAdjustedToUTC=1") and nanos:
        raise Unrepresentable(path, "nanosecond timestamps with a time zone (DuckDB keeps microseconds)")
    if logical.startswith("TimeType(") and nanos:
        raise Unrepresentable(path, "nanosecond times of day (DuckDB keeps microseconds)")
    if node.precision and node.precision > MAX_DECIMAL_PRECISION:
        raise Unrepresentable(
            path, f"decimals of {node.precision} digits (DuckDB holds {MAX_DECIMAL_PRECISION})"
        )
    if node.duckdb_type is None:
        raise Unrepresentable(path, "a Parquet type DuckDB does not read")
    return scalar(node.duckdb_type)


# ---- unification


class Conflict(Exception):
    """Two types of one column (or of a field inside it) that cannot hold each other's values."""

    def __init__(self, path: str, left: ColumnType, right: ColumnType, reason: str = "") -> None:
        super().__init__(f"{path}: {left.render()} vs {right.render()}")
        self.path = path
        self.left = left
        self.right = right
        self.reason = reason


def unify(a: ColumnType, b: ColumnType, path: str) -> ColumnType:
    """The narrowest type holding every value of both, or Conflict."""
    if a.kind == "null":
        return b
    if b.kind == "null":
        return a
    if a.kind == b.kind == "list":
        return list_of(unify(a.children[0][1], b.children[0][1], f"{path}[]"))
    if a.kind == b.kind == "map":
        return map_of(
            unify(a.children[0][1], b.children[0][1], f"{path}.key"),
            unify(a.children[1][1], b.children[1][1], f"{path}.value"),
        )
    if a.kind == b.kind == "struct":
        return _unify_struct(a, b, path)
    if a.kind in ("list", "map", "struct") or b.kind in ("list", "map", "struct"):
        raise Conflict(path, a, b)
    return _unify_scalar(a, b, path)


def _unify_struct(a: ColumnType, b: ColumnType, path: str) -> ColumnType:
    fields = dict(a.children)
    by_lower = {name.lower(): name for name in fields}
    for name, t in b.children:
        known = by_lower.get(name.lower())
        if known is not None and known != name:
            raise Conflict(f"{path}.{name}", a, b, f"field names {known!r} and {name!r} differ only by case")
        fields[name] = unify(fields[name], t, f"{path}.{name}") if known else t
        by_lower[name.lower()] = name
    return struct_of(list(fields.items()))


def _unify_scalar(a: ColumnType, b: ColumnType, path: str) -> ColumnType:
    if a.kind == "scalar" and b.kind == "scalar" and a.id == b.id and a.sql == b.sql:
        return a
    x, y = a.id, b.id
    if x in _SIGNED or x in _UNSIGNED:
        if y in _SIGNED or y in _UNSIGNED:
            return _unify_integers(a, b, path)
        if y in _FLOAT_MANTISSA:
            return _integer_and_float(a, b, path)
        if y == "decimal":
            return _unify_decimals(_as_decimal(a, b, path), b, a, b, path)
    if x in _FLOAT_MANTISSA:
        if y in _FLOAT_MANTISSA:
            return scalar("DOUBLE")
        if y in _SIGNED or y in _UNSIGNED:
            return _integer_and_float(b, a, path)
    if x == "decimal":
        if y == "decimal":
            return _unify_decimals(a, b, a, b, path)
        if y in _SIGNED or y in _UNSIGNED:
            return _unify_decimals(a, _as_decimal(b, a, path), a, b, path)
    if x in _TIMESTAMP_RANK and y in _TIMESTAMP_RANK:
        return a if _TIMESTAMP_RANK[x] >= _TIMESTAMP_RANK[y] else b
    raise Conflict(path, a, b)


def _unify_integers(a: ColumnType, b: ColumnType, path: str) -> ColumnType:
    signed = [_SIGNED[t.id] for t in (a, b) if t.id in _SIGNED]
    unsigned = [_UNSIGNED[t.id] for t in (a, b) if t.id in _UNSIGNED]
    if not signed:
        return a if _UNSIGNED[a.id] >= _UNSIGNED[b.id] else b
    if not unsigned:
        return a if _SIGNED[a.id] >= _SIGNED[b.id] else b
    bits = max(signed[0], 2 * unsigned[0])  # a signed type holds an unsigned one of half its width
    if bits > 128:
        raise Conflict(path, a, b, "no signed integer type holds both")
    return scalar(_SIGNED_BY_BITS[bits])


def _integer_and_float(integer: ColumnType, floating: ColumnType, path: str) -> ColumnType:
    bits = _SIGNED[integer.id] - 1 if integer.id in _SIGNED else _UNSIGNED[integer.id]
    if floating.id == "float" and bits <= _FLOAT_MANTISSA["float"]:
        return floating
    if bits <= _FLOAT_MANTISSA["double"]:
        return scalar("DOUBLE")
    raise Conflict(path, integer, floating, "a float cannot hold every value of the integer type")


def _as_decimal(integer: ColumnType, other: ColumnType, path: str) -> ColumnType:
    digits = _DECIMAL_DIGITS[integer.id]
    if digits > MAX_DECIMAL_PRECISION:
        raise Conflict(path, integer, other, f"more than {MAX_DECIMAL_PRECISION} digits")
    return decimal(digits, 0)


def _unify_decimals(
    a: ColumnType, b: ColumnType, left: ColumnType, right: ColumnType, path: str
) -> ColumnType:
    scale = max(a.scale, b.scale)
    digits = max(a.precision - a.scale, b.precision - b.scale) + scale
    if digits > MAX_DECIMAL_PRECISION:
        raise Conflict(path, left, right, f"more than {MAX_DECIMAL_PRECISION} digits")
    return decimal(digits, scale)


# ---- reading a file group as the unified type


def convert(expression: str, source: ColumnType, target: ColumnType, depth: int = 0) -> str:
    """SQL turning `expression` (of type `source`) into `target`, value for value.

    DuckDB casts structs by field name (missing fields NULL; fields absent from the target would be
    dropped, which never happens here: the target holds every field), lists element-wise, maps
    entry-wise. A NULL-typed part (read as INTEGER) cannot be cast to every type, so those are
    built field by field instead.
    """
    if source == target:
        return expression
    if source.kind == "null":
        return f"NULL::{target.render()}"
    if not source.has_null:
        return f"CAST({expression} AS {target.render()})"
    if source.kind == "list":
        var = f"__e{depth}"
        inner = convert(var, source.children[0][1], target.children[0][1], depth + 1)
        return f"list_transform({expression}, lambda {var}: {inner})"
    if source.kind == "map":
        var = f"__e{depth}"
        key = convert(
            f"struct_extract({var}, 'key')", source.children[0][1], target.children[0][1], depth + 1
        )
        value = convert(
            f"struct_extract({var}, 'value')", source.children[1][1], target.children[1][1], depth + 1
        )
        entries = f"list_transform(map_entries({expression}), lambda {var}: struct_pack(key := {key}, value := {value}))"
        return f"map_from_entries({entries})"
    if source.kind == "struct":
        present = dict(source.children)
        parts = []
        for name, field_type in target.children:
            if name in present:
                value = convert(
                    f"struct_extract({expression}, {literal(name)})", present[name], field_type, depth + 1
                )
            else:
                value = f"NULL::{field_type.render()}"
            parts.append(f"{quote(name)} := {value}")
        packed = f"struct_pack({', '.join(parts)})"
        return f"CAST(CASE WHEN {expression} IS NULL THEN NULL ELSE {packed} END AS {target.render()})"
    return f"CAST({expression} AS {target.render()})"
