"""Kuzu / LadybugDB values <-> the wire form of node_api/models/values.py (docs/result-values.md).

Results are encoded by type, never by shape: `row_encoder` reads the column types the engine reports
(`QueryResult.get_column_data_types()`, e.g. "INT64", "STRUCT(a INT64, b NODE)", "MAP(INT64[], STRING)")
once per result and returns one function per row, so a user's struct with `_label` / `_id` keys stays a
struct and a NODE is always a node. Every logical type the engines list (`kuzu.Type`, LadybugDB's C API
type ids) has a rule in `RULES`; tests/node_api/backends/values fails for a type without one.

Both engines share the Python API, with two differences handled here: LadybugDB (and Kuzu's Arrow
export) spell the reserved keys of nodes and relationships in capitals (`_ID`, `_LABEL`, `_SRC`,
`_DST`, `_NODES`, `_RELS`), and only LadybugDB takes bytes as a parameter.

Engine facts behind the rules (measured with kuzu 0.11.3 and ladybug 0.22.0):
- INTERVAL reaches Python as a timedelta: months are folded into days (30 a month; LadybugDB counts a
  year as 365 days) and hours beyond a day are carried into days. The months are lost in the engine's
  own conversion (its Arrow export too), so they cannot be reported.
- TIMESTAMP_NS reaches Python with microseconds; a MAP whose keys are lists or structs cannot be
  converted at all (the engine builds a dict: "unhashable type"). Results with either are read through
  Arrow instead (`needs_arrow`, `arrow_rows`), which keeps nanoseconds and gives maps as pairs.
- A UNION value reaches Python without its tag: it is encoded as its member's value.
- A DATE or TIMESTAMP past year 9999 crashes the engine's Python conversion (segfault), so a query such
  as `RETURN date('9999-12-31') + interval('1 day')` must run where a crash is contained.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from node_api.models.values import (
    decimal_text,
    duration_value,
    encode_value,
    floating,
    fraction,
    integer,
    node_value,
    path_value,
    relationship_value,
    string_map,
    tagged,
)

Rule = Callable[[Any], Any]
PropertyTypes = Callable[[str], Mapping[str, str]]


# ---- logical types -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LogicalType:
    """A parsed column type: `name` is the engine's type id ("INT64", "LIST", "ARRAY", "STRUCT", ...)."""

    name: str
    children: tuple[LogicalType, ...] = ()
    fields: tuple[str, ...] = ()  # STRUCT / UNION member names, in order
    size: int | None = None  # ARRAY length


_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_SUFFIX = re.compile(r"\[(\d*)\]")
_DECIMAL_ARGS = re.compile(r"\((\d+), ?(\d+)\)")


def parse_type(text: str) -> LogicalType:
    """The engine's type text -> LogicalType. Raises ValueError for text it cannot read (a type name
    without a rule, or a struct field name the grammar cannot tell from its type)."""
    parsed, end = _type_at(text, 0)
    if end != len(text):
        raise ValueError(f"unexpected {text[end:]!r} in type {text!r}")
    return parsed


def _type_at(text: str, pos: int) -> tuple[LogicalType, int]:
    match = _NAME.match(text, pos)
    if match is None or match.group() not in RULES:
        raise ValueError(f"no type name at {pos} in {text!r}")
    name, pos = match.group(), match.end()
    parsed = LogicalType(name)
    if name in ("STRUCT", "UNION"):
        parsed, pos = _fields(name, text, _expect(text, pos, "("))
    elif name == "MAP":
        key, pos = _type_at(text, _expect(text, pos, "("))
        value, pos = _type_at(text, _expect(text, pos, ", "))
        parsed, pos = LogicalType("MAP", (key, value)), _expect(text, pos, ")")
    elif name == "DECIMAL" and text.startswith("(", pos):
        args = _DECIMAL_ARGS.match(text, pos)
        if args is None:
            raise ValueError(f"bad DECIMAL arguments in {text!r}")
        pos = args.end()
    while (suffix := _SUFFIX.match(text, pos)) is not None:
        size = suffix.group(1)
        parsed = LogicalType("ARRAY", (parsed,), size=int(size)) if size else LogicalType("LIST", (parsed,))
        pos = suffix.end()
    return parsed, pos


def _expect(text: str, pos: int, token: str) -> int:
    if not text.startswith(token, pos):
        raise ValueError(f"expected {token!r} at {pos} in {text!r}")
    return pos + len(token)


def _fields(name: str, text: str, pos: int) -> tuple[LogicalType, int]:
    """`name TYPE, name TYPE)`: field names are printed unquoted and may hold spaces or commas, so a
    field ends at the first space after which a whole type is followed by ", " or ")"."""
    names: list[str] = []
    children: list[LogicalType] = []
    if text.startswith(")", pos):
        return LogicalType(name), pos + 1
    while True:
        space = text.find(" ", pos)
        while space != -1:
            try:
                child, end = _type_at(text, space + 1)
            except ValueError:
                space = text.find(" ", space + 1)
                continue
            if text.startswith(", ", end) or text.startswith(")", end):
                break
            space = text.find(" ", space + 1)
        if space == -1:
            raise ValueError(f"cannot read the fields of {text!r}")
        names.append(text[pos:space])
        children.append(child)
        if text.startswith(")", end):
            return LogicalType(name, tuple(children), tuple(names)), end + 1
        pos = end + 2


# ---- rules: one per logical type id ----------------------------------------------------------------

_UNHASHABLE_KEYS = frozenset({"LIST", "ARRAY", "STRUCT", "MAP", "UNION", "ANY", "NODE", "REL", "RECURSIVE_REL",
                              "INTERNAL_ID"})
_EPOCH = dt.datetime(1970, 1, 1)


# A rule is called with a value that is not None: the row loop and the containers skip nulls.

def _float(v: float) -> Any:
    return v if v - v == 0 else floating(v)  # v - v is NaN for ±inf and NaN


# Dates and naive datetimes stay Python objects inside their typed value: orjson writes them exactly
# as isoformat() would ("0001-01-01", "2024-01-02T03:04:05.000006"), in half the time (bench/values.py).

def _date(v: dt.date) -> dict[str, Any]:
    return {"$type": "Date", "_value": v}


def _local_datetime(v: dt.datetime) -> dict[str, Any]:
    return {"$type": "LocalDateTime", "_value": v}


def _int128(v: decimal.Decimal) -> Any:
    return integer(int(v))  # the engine hands INT128 over as a Decimal


def _decimal(v: decimal.Decimal) -> dict[str, Any]:
    return {"$type": "Decimal", "_value": decimal_text(v)}


def _uuid(v: Any) -> dict[str, Any]:
    return {"$type": "UUID", "_value": str(v)}  # a UUID, or its text from Arrow


def _timestamp_ns(value: Any) -> dict[str, Any]:
    if isinstance(value, dt.datetime):  # the Python API path: microseconds
        return tagged("LocalDateTime", value.isoformat())
    seconds, nanos = divmod(value, 1_000_000_000)  # the Arrow path: nanoseconds since the epoch
    text = (_EPOCH + dt.timedelta(seconds=seconds)).isoformat()
    return tagged("LocalDateTime", text + fraction(nanos))


def _timestamp_tz(value: dt.datetime) -> dict[str, Any]:
    utc = value.astimezone(dt.UTC).replace(tzinfo=None)
    return tagged("OffsetDateTime", utc.isoformat() + "+00:00")  # the engine keeps TIMESTAMP_TZ in UTC


def _interval(value: dt.timedelta) -> dict[str, Any]:
    return duration_value(0, value.days, value.seconds, value.microseconds * 1000)


def internal_id(value: Mapping[str, int]) -> str:
    """The one id shape: `"<table id>:<offset>"`, for `id(n)` as for a node's or relationship's id."""
    return f"{value['table']}:{value['offset']}"


def _list_rule(t: LogicalType, ctx: _Context) -> Rule | None:
    child = ctx.rule(t.children[0])
    if child is None:
        return None
    return lambda v: [None if x is None else child(x) for x in v]


def _struct_rule(t: LogicalType, ctx: _Context) -> Rule | None:
    rules = [ctx.rule(c) for c in t.children]
    if all(r is None for r in rules) and "$type" not in t.fields:
        return None

    def encode(value: Any) -> Any:
        if len(value) != len(rules):  # not the shape the type promised: encode by value instead
            return encode_value(value)
        return string_map({k: (x if r is None or x is None else r(x))
                           for r, (k, x) in zip(rules, value.items(), strict=True)})

    return encode


def _map_rule(t: LogicalType, ctx: _Context) -> Rule:
    key_rule = ctx.rule(t.children[0]) or _same
    value_rule = ctx.rule(t.children[1]) or _same

    def encode(value: Any) -> Any:
        pairs = value.items() if isinstance(value, dict) else value  # Arrow gives (key, value) pairs
        return tagged("MapEntries", [[None if k is None else key_rule(k), None if v is None else value_rule(v)]
                                     for k, v in pairs])

    return encode


def _same(value: Any) -> Any:
    return value


def _generic(t: LogicalType, ctx: _Context) -> Rule:
    # ANY (only ever null) and UNION (the Python API gives the member's value without its tag).
    return encode_value


def _node_rule(t: LogicalType, ctx: _Context) -> Rule:
    return ctx.node


def _rel_rule(t: LogicalType, ctx: _Context) -> Rule:
    return ctx.relationship


def _recursive_rel_rule(t: LogicalType, ctx: _Context) -> Rule:
    def encode(value: Any) -> Any:
        nodes = value["_nodes"] if "_nodes" in value else value["_NODES"]
        rels = [ctx.relationship(r) for r in (value["_rels"] if "_rels" in value else value["_RELS"])]
        if len(nodes) == len(rels) + 1:  # a named path, p = (a)-[*]->(b): every node, in walk order
            return path_value([ctx.node(n) for n in nodes], rels)
        # The variable of a variable-length pattern, -[e*]->: the engine gives only the nodes between
        # the ends, so e is its relationships, as in Neo4j.
        return rels

    return encode


RULES: dict[str, Callable[[LogicalType, _Context], Rule | None]] = {
    "ANY": _generic,
    "BOOL": lambda t, ctx: None,
    "INT8": lambda t, ctx: None,
    "INT16": lambda t, ctx: None,
    "INT32": lambda t, ctx: None,
    "INT64": lambda t, ctx: None,  # beyond ±(2**53 - 1): typed by core/jsonenc.dumps, off the hot path
    "UINT8": lambda t, ctx: None,
    "UINT16": lambda t, ctx: None,
    "UINT32": lambda t, ctx: None,
    "UINT64": lambda t, ctx: None,
    "SERIAL": lambda t, ctx: None,
    "INT128": lambda t, ctx: _int128,
    "FLOAT": lambda t, ctx: _float,
    "DOUBLE": lambda t, ctx: _float,
    "DECIMAL": lambda t, ctx: _decimal,
    "STRING": lambda t, ctx: None,
    "BLOB": lambda t, ctx: encode_value,
    "UUID": lambda t, ctx: _uuid,
    "DATE": lambda t, ctx: _date,
    "TIMESTAMP": lambda t, ctx: _local_datetime,
    "TIMESTAMP_SEC": lambda t, ctx: _local_datetime,
    "TIMESTAMP_MS": lambda t, ctx: _local_datetime,
    "TIMESTAMP_NS": lambda t, ctx: _timestamp_ns,
    "TIMESTAMP_TZ": lambda t, ctx: _timestamp_tz,
    "INTERVAL": lambda t, ctx: _interval,
    "INTERNAL_ID": lambda t, ctx: internal_id,
    "LIST": _list_rule,
    "ARRAY": _list_rule,
    "STRUCT": _struct_rule,
    "MAP": _map_rule,
    "UNION": _generic,
    "NODE": _node_rule,
    "REL": _rel_rule,
    "RECURSIVE_REL": _recursive_rel_rule,
}


_SKIP = object()  # a reserved key of the engine's node / relationship values, not a property
_FOREIGN = object()  # a key the catalog does not list for the table
_BY_VALUE = object()  # any property, when the catalog's types are not given


class _Context:
    """Builds rules; encodes nodes and relationships, whose property types come from the catalog
    (`property_types(label)` -> {property: type text}) when the caller can give them."""

    _RESERVED = ("_id", "_label", "_src", "_dst", "_ID", "_LABEL", "_SRC", "_DST")

    def __init__(self, property_types: PropertyTypes | None) -> None:
        self._property_types = property_types
        self._by_label: dict[str, dict[str, Any]] = {}
        self._generic: dict[str, Any] = dict.fromkeys(self._RESERVED, _SKIP)

    def rule(self, t: LogicalType) -> Rule | None:
        return RULES[t.name](t, self)

    def _props(self, label: str, value: Mapping[str, Any]) -> dict[str, Any]:
        rules = self._label_rules(label)
        unlisted = _BY_VALUE if rules is self._generic else _FOREIGN
        out: dict[str, Any] = {}
        for key, x in value.items():
            r = rules.get(key, unlisted)
            if r is None or x is None:
                # A node variable that can bind several tables carries every table's columns, null
                # where its own table has none: those (_FOREIGN and null) are not its properties.
                if r is not _FOREIGN and r is not _SKIP:
                    out[key] = x
            elif r is _SKIP:
                continue
            elif r is _FOREIGN or r is _BY_VALUE:
                out[key] = encode_value(x)
            else:
                out[key] = r(x)
        return out

    def _label_rules(self, label: str) -> dict[str, Any]:
        """{property: rule, None (as is), or _SKIP (the reserved keys)}; without the catalog's types
        only the reserved keys are listed and every property is encoded by its Python value."""
        if self._property_types is None:
            return self._generic
        rules = self._by_label.get(label)
        if rules is None:
            rules = dict.fromkeys(self._RESERVED, _SKIP)
            for name, text in self._property_types(label).items():
                try:
                    rules[name] = self.rule(parse_type(text))
                except ValueError:
                    rules[name] = encode_value
            self._by_label[label] = rules
        return rules

    def node(self, value: Mapping[str, Any]) -> dict[str, Any]:
        upper = "_LABEL" in value
        label = value["_LABEL" if upper else "_label"]
        return node_value(internal_id(value["_ID" if upper else "_id"]), [label], self._props(label, value))

    def relationship(self, value: Mapping[str, Any]) -> dict[str, Any]:
        upper = "_LABEL" in value
        label = value["_LABEL" if upper else "_label"]
        return relationship_value(
            internal_id(value["_ID" if upper else "_id"]), internal_id(value["_SRC" if upper else "_src"]),
            internal_id(value["_DST" if upper else "_dst"]), label, self._props(label, value))


def row_encoder(column_types: list[str], property_types: PropertyTypes | None = None,
                ) -> Callable[[list[Any]], list[Any]] | None:
    """One function turning a row of engine values into wire values (in place), or None when no column
    needs any conversion (booleans, integers, strings and lists of them: the hot path stays free).
    The rows are for core/jsonenc.dumps: it types integers past 2**53 and writes the dates and naive
    datetimes left inside typed values as ISO-8601 text.

    `property_types(label)` gives the catalog's {property: type text} of a node or rel table; without
    it, properties are encoded by their Python values (an INT128 property then reads as a Decimal and a
    MAP(STRING, ...) property as an object). A column type the parser cannot read is encoded by value.
    """
    ctx = _Context(property_types)
    rules: list[Rule | None] = []
    for text in column_types:
        try:
            rules.append(ctx.rule(parse_type(text)))
        except ValueError:
            rules.append(encode_value)
    active = tuple((i, r) for i, r in enumerate(rules) if r is not None)
    if not active:
        return None
    if len(active) == 1:
        (index, rule), = active

        def encode_one(row: list[Any]) -> list[Any]:
            value = row[index]
            if value is not None:
                row[index] = rule(value)
            return row

        return encode_one

    def encode(row: list[Any]) -> list[Any]:
        # In place: each row is a new list from the engine, used once.
        for i, r in active:
            value = row[i]
            if value is not None:
                row[i] = r(value)
        return row

    return encode


def table_property_types(execute: Callable[[str], list[list[Any]]], label: str) -> dict[str, str]:
    """{property: type text} of a node or rel table, from `CALL table_info` run by `execute`
    (a function that runs a query and returns its rows)."""
    quoted = label.replace("\\", "\\\\").replace("'", "\\'")
    return {str(row[1]): str(row[2]) for row in execute(f"CALL table_info('{quoted}') RETURN *")}


# ---- the Arrow path: nanoseconds, and maps keyed by lists or structs -------------------------------

def needs_arrow(column_types: list[str]) -> bool:
    """True when the Python API would lose or fail on a value of these columns (see the module doc)."""
    def walk(t: LogicalType) -> bool:
        if t.name == "TIMESTAMP_NS":
            return True
        if t.name == "MAP" and t.children[0].name in _UNHASHABLE_KEYS:
            return True
        return any(walk(c) for c in t.children)

    for text in column_types:
        try:
            if walk(parse_type(text)):
                return True
        except ValueError:
            continue
    return False


def arrow_rows(table: Any) -> list[list[Any]]:
    """A pyarrow Table from `QueryResult.get_as_arrow` -> rows of the values `row_encoder` reads:
    TIMESTAMP_NS as nanoseconds since the epoch (int), maps as (key, value) pairs."""
    import pyarrow as pa

    def exact(t: pa.DataType) -> pa.DataType:
        if pa.types.is_timestamp(t) and t.unit == "ns" and t.tz is None:
            return pa.int64()
        if pa.types.is_list(t):
            return pa.list_(pa.field(t.value_field.name, exact(t.value_type)))
        if pa.types.is_fixed_size_list(t):
            return pa.list_(pa.field(t.value_field.name, exact(t.value_type)), t.list_size)
        if pa.types.is_struct(t):
            return pa.struct([pa.field(f.name, exact(f.type), f.nullable) for f in t])
        if pa.types.is_map(t):
            return pa.map_(exact(t.key_type), exact(t.item_type))
        return t

    columns = []
    for column in table.columns:
        target = exact(column.type)
        columns.append((column.cast(target) if target != column.type else column).to_pylist())
    return [list(row) for row in zip(*columns, strict=True)] if columns else []


